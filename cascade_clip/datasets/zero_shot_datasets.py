"""The three zero-shot benchmarks as mmseg datasets that fail clearly when
their files are not where the config says or hold values that are no class.

mmseg's classes are reused; what is added is a check, before the samples are
listed, that ``data_root``, the image and label folders and the split file
exist, and after, that the list is not empty and that every listed image has
its image and label file. Each sample also carries the dataset's class count
and ignore index, so that ``CheckedLoadAnnotations`` checks every label value
when it loads the file.
"""
from typing import List, Optional

import mmengine.fileio as fileio
from mmseg.datasets import (BaseSegDataset, COCOStuffDataset,
                            PascalContextDataset59, PascalVOCDataset)
from mmseg.registry import DATASETS

from ..structures import shapes20_palette, shapes21_palette
from ..structures.class_names import SHAPES20_CLASSES, SHAPES21_CLASSES
from .transforms import OUT_OF_RANGE_CHOICES

README_HINT = ('Download and convert the dataset as data/README.md (in the '
               'cascade_clip repository) describes, or point `data_root` to '
               'where it is.')
_MAX_LISTED = 3


class LayoutCheckMixin:
    """Checks a segmentation dataset's files when its sample list is loaded.

    Raises ``FileNotFoundError`` naming the missing folder, split file or
    image/label files, and ``ValueError`` when no sample is listed. The check
    runs in ``full_init`` (so with ``lazy_init=True`` only on first access).

    Every sample's info also holds ``num_classes``, ``ignore_index``,
    ``out_of_range_labels`` and ``dataset_name``, which
    ``CheckedLoadAnnotations`` checks the label values against.

    Args:
        check_files: Whether to check that every listed image and label file
            exists (one ``exists`` call per file).
        out_of_range_labels: What loading does with a label value that is
            neither a class nor the ignore index: ``'error'`` (a
            ``ValueError`` naming the file and the values) or ``'ignore'``
            (those pixels become the ignore index, with a warning).
        missing_data_hint: What the errors about missing files say to do
            (default: download and convert as data/README.md describes);
            the tiny configs name the ``tools/make_tiny_dataset.py``
            command that writes their data.
    """

    def __init__(self,
                 *args,
                 check_files: bool = True,
                 out_of_range_labels: str = 'error',
                 missing_data_hint: Optional[str] = None,
                 **kwargs):
        if out_of_range_labels not in OUT_OF_RANGE_CHOICES:
            raise ValueError(
                f'out_of_range_labels must be one of {OUT_OF_RANGE_CHOICES}, '
                f'not {out_of_range_labels!r}')
        self.check_files = check_files
        self.out_of_range_labels = out_of_range_labels
        self.missing_data_hint = missing_data_hint or README_HINT
        super().__init__(*args, **kwargs)

    def get_data_info(self, idx: int) -> dict:
        """The sample's info plus what the label check needs."""
        info = super().get_data_info(idx)
        info.update(
            num_classes=len(self.metainfo['classes']),
            ignore_index=self.ignore_index,
            out_of_range_labels=self.out_of_range_labels,
            dataset_name=type(self).__name__)
        return info

    def _missing(self, what: str, path: str) -> FileNotFoundError:
        return FileNotFoundError(
            f'{type(self).__name__}: {what} not found: {path}. '
            f'{self.missing_data_hint}')

    def _check_layout(self) -> None:
        if self.data_root and not fileio.isdir(
                self.data_root, backend_args=self.backend_args):
            raise self._missing('data_root folder', self.data_root)
        for key, path in self.data_prefix.items():
            if path and not fileio.isdir(path, backend_args=self.backend_args):
                raise self._missing(f"folder data_prefix['{key}']", path)
        if self.ann_file and not fileio.isfile(
                self.ann_file, backend_args=self.backend_args):
            raise self._missing('split file (ann_file)', self.ann_file)

    def _check_files(self, data_list: List[dict], key: str, what: str) -> None:
        missing = [
            info[key] for info in data_list if key in info
            and not fileio.exists(info[key], backend_args=self.backend_args)
        ]
        if missing:
            shown = ', '.join(missing[:_MAX_LISTED])
            more = (f' and {len(missing) - _MAX_LISTED} more'
                    if len(missing) > _MAX_LISTED else '')
            listed_in = self.ann_file or self.data_prefix.get('img_path')
            raise FileNotFoundError(
                f'{type(self).__name__}: {len(missing)} of {len(data_list)} '
                f'samples listed from {listed_in} have no {what}: '
                f'{shown}{more}. {self.missing_data_hint}')

    def load_data_list(self) -> List[dict]:
        self._check_layout()
        data_list = super().load_data_list()
        if not data_list:
            if self.ann_file:
                source = f'split file {self.ann_file} lists no images'
            else:
                source = (f"no '*{self.img_suffix}' images found under "
                          f"{self.data_prefix.get('img_path')}")
            raise ValueError(f'{type(self).__name__}: {source}. '
                             f'{self.missing_data_hint}')
        if self.check_files:
            self._check_files(data_list, 'img_path', 'image file')
            self._check_files(data_list, 'seg_map_path', 'label file')
        return data_list


@DATASETS.register_module()
class PascalVOC20Dataset(LayoutCheckMixin, BaseSegDataset):
    """Pascal VOC 2012 with its 20 object classes and no background.

    Raw labels are 0 background, 1-20 the classes in VOC order and 255 void;
    ``reduce_zero_label=True`` maps them to 255, 0-19 and 255. Images are
    ``JPEGImages/*.jpg``, labels ``SegmentationClass/*.png`` (VOC, palette
    PNGs) or ``SegmentationClassAug/*.png`` (SBD, made by mmseg's
    ``voc_aug.py``); ``ann_file`` is the split file, e.g.
    ``ImageSets/Segmentation/aug.txt``.
    """
    METAINFO = dict(
        classes=PascalVOCDataset.METAINFO['classes'][1:],
        palette=PascalVOCDataset.METAINFO['palette'][1:])

    def __init__(self,
                 ann_file: str,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = True,
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)


@DATASETS.register_module()
class ZeroShotPascalContext59Dataset(LayoutCheckMixin, PascalContextDataset59):
    """mmseg's ``PascalContextDataset59`` (raw 0 background -> 255, class k
    -> k - 1) with clear errors for missing files.

    Images ``JPEGImages/*.jpg``, labels ``SegmentationClassContext/*.png``,
    split ``ImageSets/SegmentationContext/{train,val}.txt``.
    """


@DATASETS.register_module()
class ZeroShotCOCOStuffDataset(LayoutCheckMixin, COCOStuffDataset):
    """mmseg's ``COCOStuffDataset`` (164k: labels 0-170, 255 unlabelled,
    unchanged) with clear errors for missing files.

    Images ``images/{train2017,val2017}/*.jpg``, labels
    ``annotations/{train2017,val2017}/*_labelTrainIds.png``; no split file.
    """


@DATASETS.register_module()
class ShapesWorldDataset(PascalVOC20Dataset):
    """The synthetic shapes world (:mod:`cascade_clip.synthetic.world`) in
    Pascal VOC's layout: 20 colour-and-shape classes, raw label 0
    background (dropped by ``reduce_zero_label``), ``JPEGImages/*.jpg``,
    ``SegmentationClass/*.png`` and ``ImageSets/Segmentation/*.txt``."""
    METAINFO = dict(classes=SHAPES20_CLASSES, palette=shapes20_palette())


@DATASETS.register_module()
class ShapesWorld21Dataset(ShapesWorldDataset):
    """The shapes world with its background as class 0 (``background``) and
    the 20 shapes as 1-20: the raw labels as they are (no label
    reduction)."""
    METAINFO = dict(classes=SHAPES21_CLASSES, palette=shapes21_palette())

    def __init__(self,
                 ann_file: str,
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file, reduce_zero_label=reduce_zero_label, **kwargs)
