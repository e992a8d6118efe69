"""Data types that the models, datasets and metrics share."""
from .class_names import DATASET_CLASSES
from .palettes import (class_colours, class_palette, dataset_palette,
                       shapes20_palette, shapes21_palette, voc_palette)
from .zero_shot_split import (ZERO_SHOT_SPLITS, ClassRef, ZeroShotSplit,
                              check_class_ids, resolve_class_names,
                              seen_unseen)

__all__ = [
    'DATASET_CLASSES', 'class_colours', 'class_palette', 'dataset_palette',
    'shapes20_palette', 'shapes21_palette', 'voc_palette', 'ZERO_SHOT_SPLITS',
    'ClassRef', 'ZeroShotSplit', 'check_class_ids', 'resolve_class_names',
    'seen_unseen'
]
