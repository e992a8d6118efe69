"""Your own dataset: a folder of images and label PNGs plus a text file of
class names (docs/datasets.md, "Your own dataset")."""
import os.path as osp
from typing import Optional, Sequence, Union

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from cascade_clip_runtime.classes import read_class_file
from .zero_shot_datasets import LayoutCheckMixin


@DATASETS.register_module()
class CustomZeroShotDataset(LayoutCheckMixin, BaseSegDataset):
    """Images and label maps of your own classes.

    The usual layout, under ``data_root``::

        classes.txt            one class name per line, in label order
        images/train/*.jpg     images/val/*.jpg
        labels/train/*.png     labels/val/*.png  (same names as the images)

    A label PNG (grey-scale or palette) holds, per pixel, the line of
    ``classes.txt`` counted from 0, or ``ignore_index`` (255) for
    unlabelled pixels. Which classes are unseen is said in the config, by
    name. Loading fails with a message naming the file for a missing folder,
    an image without its label, a label value that is no class and an image
    and label of different sizes (``out_of_range_labels='ignore'`` ignores
    such values instead).

    Args:
        classes: The class name file, relative to ``data_root`` unless
            absolute, or a list of names.
        data_prefix: ``img_path`` and ``seg_map_path`` folders of the split.
        ann_file: Optional split file (one image name without suffix per
            line); without one, every image in ``img_path`` is used.
        img_suffix: Image file suffix.
        seg_map_suffix: Label file suffix.
        **kwargs: Passed to mmseg's ``BaseSegDataset`` (``ignore_index``,
            ``reduce_zero_label``, ...) and ``out_of_range_labels``,
            ``check_files``.
    """

    def __init__(self,
                 classes: Union[str, Sequence[str]],
                 data_root: Optional[str] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if isinstance(classes, str):
            path = classes
            if data_root and not osp.isabs(path):
                path = osp.join(data_root, path)
            self.class_file = path
            names = read_class_file(path)
        else:
            self.class_file = None
            names = [str(name) for name in classes]
        if len(names) < 2:
            raise ValueError(f'a dataset needs two or more classes, got '
                             f'{names} (add e.g. "background")')
        metainfo = dict(metainfo or {}, classes=tuple(names))
        super().__init__(
            data_root=data_root,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            metainfo=metainfo,
            **kwargs)
