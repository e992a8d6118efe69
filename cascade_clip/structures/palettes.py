"""The palettes of the registered datasets, for the one palette rule of
the pictures (:func:`cascade_clip_runtime.drawing.class_palette`): a class
list that is exactly a registered dataset's (VOC-20, COCO-Stuff-171, ...)
is drawn in that dataset's colours, any other list in
:func:`~cascade_clip_runtime.drawing.class_colours`, so that
``tools/infer.py``, ``tools/visualize.py`` and the ONNX runtime give a
class the same colour. Also here: VOC's colour map (its label PNGs) and the
colours of the shapes world's classes.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmseg.registry import DATASETS

from cascade_clip_runtime.drawing import class_colours  # noqa: F401
from cascade_clip_runtime.drawing import class_palette as _class_palette
from .class_names import SHAPES20_COLOURS, SHAPES20_SHAPES

# The shapes world's colours (cascade_clip.synthetic.world draws its scenes
# in them; the class 'red circle' is drawn in 'red').
SHAPES20_RGB: Dict[str, Tuple[int, int, int]] = dict(
    zip(SHAPES20_COLOURS, ((215, 45, 40), (45, 165, 60), (45, 85, 215),
                           (225, 200, 35), (145, 60, 195))))


def shapes20_palette() -> List[List[int]]:
    """The shapes world's class colours: each class in its colour, darker
    for each further shape."""
    shades = (1.0, 0.75, 0.55, 0.38)
    return [[int(c * shades[s]) for c in SHAPES20_RGB[colour]]
            for colour in SHAPES20_COLOURS
            for s in range(len(SHAPES20_SHAPES))]


def shapes21_palette() -> List[List[int]]:
    """The shapes world's colours with its background (mid grey) first."""
    return [[128, 128, 128]] + shapes20_palette()


def voc_palette() -> List[int]:
    """VOC's 256-entry colour map (bits of the index spread over R, G, B),
    flattened for ``Image.putpalette``."""
    palette = []
    for index in range(256):
        rgb = [0, 0, 0]
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((index >>
                                  (3 * bit + channel)) & 1) << (7 - bit)
        palette.extend(rgb)
    return palette


def dataset_palettes() -> Dict[Tuple[str, ...], np.ndarray]:
    """``{class names: (K, 3) uint8 colours}`` of every registered dataset
    that has a palette."""
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
    return dataset_palettes().get(tuple(str(n) for n in class_names))


def class_palette(class_names: Sequence[str]) -> np.ndarray:
    """``(K, 3)`` uint8: the dataset's colours for a dataset's class list,
    else :func:`~cascade_clip_runtime.drawing.class_colours`."""
    return _class_palette(class_names, dataset_palettes())
