from .splits import ZERO_SHOT_SPLITS, seen_unseen
from .transforms import CheckedLoadAnnotations, CheckedLoadImageFromFile
from .zero_shot_datasets import (PascalVOC20Dataset, ZeroShotCOCOStuffDataset,
                                 ZeroShotPascalContext59Dataset)

__all__ = [
    'PascalVOC20Dataset', 'ZeroShotPascalContext59Dataset',
    'ZeroShotCOCOStuffDataset', 'CheckedLoadImageFromFile',
    'CheckedLoadAnnotations', 'ZERO_SHOT_SPLITS', 'seen_unseen'
]
