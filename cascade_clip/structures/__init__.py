"""Data types that the models, datasets and metrics share."""
from .zero_shot_split import (ZERO_SHOT_SPLITS, ZeroShotSplit,
                              check_class_ids, resolve_class_names,
                              seen_unseen)

__all__ = [
    'ZERO_SHOT_SPLITS', 'ZeroShotSplit', 'check_class_ids',
    'resolve_class_names', 'seen_unseen'
]
