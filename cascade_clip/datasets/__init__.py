from .class_names import DATASET_CLASSES, read_class_names
from .custom_dataset import CustomZeroShotDataset
from .open_vocabulary_datasets import (ADE20K150Dataset, ADE20K847Dataset,
                                       PascalContext459Dataset,
                                       PascalVOC21Dataset)
from .splits import ZERO_SHOT_SPLITS, seen_unseen
from .transforms import CheckedLoadAnnotations, CheckedLoadImageFromFile
from .zero_shot_datasets import (PascalVOC20Dataset, ZeroShotCOCOStuffDataset,
                                 ZeroShotPascalContext59Dataset)

__all__ = [
    'PascalVOC20Dataset', 'ZeroShotPascalContext59Dataset',
    'ZeroShotCOCOStuffDataset', 'PascalVOC21Dataset', 'ADE20K150Dataset',
    'ADE20K847Dataset', 'PascalContext459Dataset', 'CustomZeroShotDataset',
    'CheckedLoadImageFromFile',
    'CheckedLoadAnnotations', 'ZERO_SHOT_SPLITS', 'seen_unseen',
    'DATASET_CLASSES', 'read_class_names'
]
