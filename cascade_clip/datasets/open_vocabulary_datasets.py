"""The cross-dataset evaluation sets of the open-vocabulary literature:
ADE20K-150, ADE20K-847, Pascal Context-459 and Pascal VOC-21 (with
background), with the same clear errors as the zero-shot benchmarks.

None of them defines a seen/unseen split: a model trained on COCO-Stuff is
evaluated on all their classes (``ZeroShotIoUMetric(class_split=False)``).
ADE20K-847 and Pascal Context-459 have more classes than a byte holds: their
labels are 16-bit PNGs with 65535 as the ignore index, as this package's
converters write them (data/README.md).
"""
from mmseg.datasets import ADE20KDataset, BaseSegDataset, PascalVOCDataset
from mmseg.registry import DATASETS

from ..structures.class_names import (ADE20K_150_CLASSES, ADE20K_847_CLASSES,
                                      PASCAL_CONTEXT_459_CLASSES)
from .zero_shot_datasets import LayoutCheckMixin, PascalVOC20Dataset

IGNORE_16BIT = 65535


@DATASETS.register_module()
class PascalVOC21Dataset(PascalVOC20Dataset):
    """Pascal VOC 2012 with background: 21 classes, 0 background, 1-20 the
    objects, 255 void (no label reduction).

    Same files as :class:`PascalVOC20Dataset`: ``JPEGImages/*.jpg``,
    ``SegmentationClass/*.png``, split ``ImageSets/Segmentation/val.txt``.
    """
    METAINFO = PascalVOCDataset.METAINFO

    def __init__(self,
                 ann_file: str,
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file, reduce_zero_label=reduce_zero_label, **kwargs)


@DATASETS.register_module()
class ADE20K150Dataset(LayoutCheckMixin, ADE20KDataset):
    """ADE20K (SceneParsing, ``ADEChallengeData2016``) with its 150 classes:
    raw 0 ("other") -> 255, class k -> k - 1.

    mmseg's dataset with clear errors and the class names stripped (mmseg's
    list has ``'bed '``). Images ``images/{training,validation}/*.jpg``,
    labels ``annotations/{training,validation}/*.png``; no split file.
    """
    METAINFO = dict(
        classes=ADE20K_150_CLASSES, palette=ADE20KDataset.METAINFO['palette'])


class SixteenBitLabelsDataset(LayoutCheckMixin, BaseSegDataset):
    """A dataset of ``.jpg`` images and 16-bit ``.png`` labels (more classes
    than a byte holds), :data:`IGNORE_16BIT` ignored."""

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 ignore_index: int = IGNORE_16BIT,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            ignore_index=ignore_index,
            **kwargs)


@DATASETS.register_module()
class ADE20K847Dataset(SixteenBitLabelsDataset):
    """The full ADE20K release with the 847 classes of the open-vocabulary
    literature, as ``tools/dataset_converters/ade20k_847.py`` converts it.

    Images ``images_847/{training,validation}/*.jpg``, labels
    ``annotations_847/{training,validation}/*.png``: 16-bit, 0-846 the
    classes in the order of ``class_lists/ade20k_847.tsv``, 65535 ignored.
    """
    METAINFO = dict(classes=ADE20K_847_CLASSES)


@DATASETS.register_module()
class PascalContext459Dataset(SixteenBitLabelsDataset):
    """Pascal Context with all 459 classes of its full annotation, as
    ``tools/dataset_converters/pascal_context_459.py`` converts it.

    Images ``JPEGImages/*.jpg``, labels ``SegmentationClassContext459/*.png``:
    16-bit, 0-458 the classes in the order of the release's ``labels.txt``,
    65535 unlabelled. Split ``ImageSets/SegmentationContext/val.txt`` (the
    images of Context-59's validation set).
    """
    METAINFO = dict(classes=PASCAL_CONTEXT_459_CLASSES)

    def __init__(self, ann_file: str, **kwargs) -> None:
        super().__init__(ann_file=ann_file, **kwargs)
