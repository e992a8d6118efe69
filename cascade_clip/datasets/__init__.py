from .build import build_split_dataset
from .custom_dataset import CustomZeroShotDataset
from .open_vocabulary_datasets import (ADE20K150Dataset, ADE20K847Dataset,
                                       PascalContext459Dataset,
                                       PascalVOC21Dataset)
from .transforms import CheckedLoadAnnotations, CheckedLoadImageFromFile
from .zero_shot_datasets import (PascalVOC20Dataset, ShapesWorld21Dataset,
                                 ShapesWorldDataset, ZeroShotCOCOStuffDataset,
                                 ZeroShotPascalContext59Dataset)

__all__ = [
    'PascalVOC20Dataset', 'ZeroShotPascalContext59Dataset',
    'ZeroShotCOCOStuffDataset', 'PascalVOC21Dataset', 'ADE20K150Dataset',
    'ADE20K847Dataset', 'PascalContext459Dataset', 'CustomZeroShotDataset',
    'ShapesWorldDataset', 'ShapesWorld21Dataset', 'CheckedLoadImageFromFile',
    'CheckedLoadAnnotations', 'build_split_dataset'
]
