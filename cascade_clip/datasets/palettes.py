"""The one palette of the pictures: a class list that is exactly a
dataset's (VOC-20, COCO-Stuff-171, ...) is drawn in that dataset's colours,
any other list in :func:`~cascade_clip.visualization.class_colours`, so that
``tools/infer.py`` and ``tools/visualize.py`` give a class the same
colour."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmseg.registry import DATASETS

from ..visualization import class_colours


def _dataset_palettes() -> Dict[Tuple[str, ...], np.ndarray]:
    palettes = {}
    for name in sorted(DATASETS.module_dict):
        meta = getattr(DATASETS.module_dict[name], 'METAINFO', None) or {}
        classes, palette = meta.get('classes'), meta.get('palette')
        if classes and palette and len(palette) == len(classes):
            palettes.setdefault(
                tuple(classes),
                np.asarray(palette, dtype=np.uint8).reshape(-1, 3))
    return palettes


def dataset_palette(class_names: Sequence[str]) -> Optional[np.ndarray]:
    """``(K, 3)`` uint8 colours of the registered dataset whose classes are
    exactly ``class_names`` (in order), or ``None``."""
    return _dataset_palettes().get(tuple(str(n) for n in class_names))


def class_palette(class_names: Sequence[str]) -> np.ndarray:
    """``(K, 3)`` uint8: the dataset's colours for a dataset's class list,
    else :func:`~cascade_clip.visualization.class_colours`."""
    palette = dataset_palette(class_names)
    return class_colours(len(class_names)) if palette is None else palette
