"""Seen/unseen class splits of the three zero-shot settings (SPEC section 6).

Class indices are positions in the dataset's ``METAINFO['classes']``, i.e.
label values after the dataset's label reduction.
"""
from typing import List, Tuple

from mmseg.datasets import COCOStuffDataset, PascalContextDataset59

from .zero_shot_datasets import PascalVOC20Dataset

VOC20_CLASSES = tuple(PascalVOC20Dataset.METAINFO['classes'])
CONTEXT59_CLASSES = tuple(PascalContextDataset59.METAINFO['classes'])
COCO_STUFF171_CLASSES = tuple(COCOStuffDataset.METAINFO['classes'])

VOC20_UNSEEN = (15, 16, 17, 18, 19)
CONTEXT59_UNSEEN = (0, 2, 3, 7, 9, 13, 17, 19, 31, 37)
COCO_STUFF171_UNSEEN = (19, 23, 28, 29, 36, 51, 76, 88, 94, 112, 133, 136,
                        137, 157, 160)

ZERO_SHOT_SPLITS = {
    'voc20': dict(classes=VOC20_CLASSES, unseen=VOC20_UNSEEN),
    'context59': dict(classes=CONTEXT59_CLASSES, unseen=CONTEXT59_UNSEEN),
    'coco_stuff171': dict(
        classes=COCO_STUFF171_CLASSES, unseen=COCO_STUFF171_UNSEEN),
}


def seen_unseen(name: str) -> Tuple[List[int], List[int]]:
    """Sorted seen and unseen class indices of the setting ``name`` (a key
    of ``ZERO_SHOT_SPLITS``)."""
    if name not in ZERO_SHOT_SPLITS:
        raise KeyError(f'unknown zero-shot setting {name!r}; known: '
                       f'{sorted(ZERO_SHOT_SPLITS)}')
    split = ZERO_SHOT_SPLITS[name]
    unseen = sorted(split['unseen'])
    seen = [i for i in range(len(split['classes'])) if i not in unseen]
    return seen, unseen
