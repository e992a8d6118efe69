from .build import build_split_dataset
from .transforms import CheckedLoadAnnotations, CheckedLoadImageFromFile
from .zero_shot_datasets import (PascalVOC20Dataset, ZeroShotCOCOStuffDataset,
                                 ZeroShotPascalContext59Dataset)

__all__ = [
    'PascalVOC20Dataset', 'ZeroShotPascalContext59Dataset',
    'ZeroShotCOCOStuffDataset', 'CheckedLoadImageFromFile',
    'CheckedLoadAnnotations', 'build_split_dataset'
]
