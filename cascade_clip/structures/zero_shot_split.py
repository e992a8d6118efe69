"""Which classes a zero-shot model learns from labels (seen) and which it
must recognise without them (unseen), and the paper's three splits (SPEC
section 6).

Class ids are positions in the dataset's ``METAINFO['classes']``, i.e. label
values after the dataset's label reduction. The segmentor and the metric are
given the same fields (a config's ``zero_shot_split``) and each builds a
:class:`ZeroShotSplit` from them, so the ids are checked in one place: here.
"""
import operator
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from mmseg.datasets import (COCOStuffDataset, PascalContextDataset59,
                            PascalVOCDataset)

# The settings of the paper: every class in the dataset's order, and the
# unseen ones.
ZERO_SHOT_SPLITS = {
    'voc20':
    dict(
        classes=tuple(PascalVOCDataset.METAINFO['classes'][1:]),
        unseen=(15, 16, 17, 18, 19)),
    'context59':
    dict(
        classes=tuple(PascalContextDataset59.METAINFO['classes']),
        unseen=(0, 2, 3, 7, 9, 13, 17, 19, 31, 37)),
    'coco_stuff171':
    dict(
        classes=tuple(COCOStuffDataset.METAINFO['classes']),
        unseen=(19, 23, 28, 29, 36, 51, 76, 88, 94, 112, 133, 136, 137, 157,
                160)),
}


def resolve_class_names(class_names: Union[str, Sequence[str]]) -> List[str]:
    """Class names from a list, the name of a setting of
    :data:`ZERO_SHOT_SPLITS` or a text file with one name per line (blank
    lines skipped)."""
    if not isinstance(class_names, str):
        return [str(name) for name in class_names]
    if class_names in ZERO_SHOT_SPLITS:
        return list(ZERO_SHOT_SPLITS[class_names]['classes'])
    if osp.isfile(class_names):
        with open(class_names) as f:
            return [line.strip() for line in f if line.strip()]
    raise ValueError(
        f'class_names {class_names!r} is neither a known setting '
        f'({sorted(ZERO_SHOT_SPLITS)}) nor a text file of class names')


def _class_ids(ids: Sequence[int], name: str) -> Tuple[int, ...]:
    """Distinct non-negative integers."""
    try:
        ids = tuple(operator.index(i) for i in ids)
    except TypeError:
        raise ValueError(
            f'{name} must be integer class ids, got {ids!r}') from None
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f'{name} repeats class ids {repeated}')
    negative = [i for i in ids if i < 0]
    if negative:
        raise ValueError(f'{name} {negative} are not class ids (negative); '
                         f'{name} holds {list(ids)}')
    return ids


def check_class_ids(
    seen: Optional[Sequence[int]], unseen: Sequence[int]
) -> Tuple[Optional[Tuple[int, ...]], Tuple[int, ...]]:
    """The checks that need no class count: integers, none negative or
    repeated, none both seen and unseen.

    Returns:
        The ids as tuples (``seen`` stays ``None`` when not given).
    """
    unseen = _class_ids(unseen, 'unseen_classes')
    if seen is not None:
        seen = _class_ids(seen, 'seen_classes')
        both = sorted(set(seen) & set(unseen))
        if both:
            raise ValueError(f'classes {both} are both seen and unseen')
    return seen, unseen


@dataclass(frozen=True)
class ZeroShotSplit:
    """The classes of a dataset split into seen and unseen ones.

    Seen classes keep their given order: an inductively trained head scores
    them in that order. A class in neither list is not trained on (as an
    unseen one) and counts only in the metric's scores over all classes.

    Attributes:
        num_classes: How many classes the dataset has.
        seen: Ids of the seen classes.
        unseen: Ids of the unseen classes.
        class_names: The classes' names, if known.
    """
    num_classes: int
    seen: Tuple[int, ...]
    unseen: Tuple[int, ...] = ()
    class_names: Optional[Tuple[str, ...]] = None

    def __post_init__(self):
        seen, unseen = check_class_ids(self.seen, self.unseen)
        count = operator.index(self.num_classes)
        if count < 1:
            raise ValueError(f'num_classes must be positive, got {count}')
        for name, ids in (('seen_classes', seen), ('unseen_classes', unseen)):
            outside = [i for i in ids if i >= count]
            if outside:
                raise ValueError(
                    f'{name} {outside} are not among the {count} classes of '
                    f'this dataset (ids 0 to {count - 1}); {name} holds '
                    f'{list(ids)}')
        names = self.class_names
        if names is not None:
            names = tuple(str(n) for n in names)
            if len(names) != count:
                raise ValueError(f'num_classes={count} but {len(names)} '
                                 'class_names given')
        object.__setattr__(self, 'num_classes', count)
        object.__setattr__(self, 'seen', seen)
        object.__setattr__(self, 'unseen', unseen)
        object.__setattr__(self, 'class_names', names)

    @classmethod
    def build(cls,
              class_names: Union[str, Sequence[str], None] = None,
              num_classes: Optional[int] = None,
              seen_classes: Optional[Sequence[int]] = None,
              unseen_classes: Optional[Sequence[int]] = None
              ) -> 'ZeroShotSplit':
        """The split of a config's fields.

        Args:
            class_names: The classes: a list, a setting of
                :data:`ZERO_SHOT_SPLITS` (which also gives the unseen
                classes) or a text file with one name per line.
            num_classes: The class count, when no names are given.
            seen_classes: Default: every class that is not unseen.
            unseen_classes: Default: the setting's, else none.
        """
        if unseen_classes is None:
            unseen_classes = ()
            if isinstance(class_names, str) and class_names in \
                    ZERO_SHOT_SPLITS:
                unseen_classes = ZERO_SHOT_SPLITS[class_names]['unseen']
        names = None
        if class_names is not None:
            names = resolve_class_names(class_names)
            num_classes = len(names) if num_classes is None else num_classes
        if num_classes is None:
            raise ValueError('a split needs class_names or num_classes')
        seen, unseen = check_class_ids(seen_classes, unseen_classes)
        if seen is None:
            seen = tuple(i for i in range(num_classes) if i not in unseen)
        return cls(num_classes, seen, unseen, names)


def seen_unseen(name: str) -> Tuple[List[int], List[int]]:
    """Sorted seen and unseen class ids of the setting ``name`` (a key of
    :data:`ZERO_SHOT_SPLITS`)."""
    if name not in ZERO_SHOT_SPLITS:
        raise KeyError(f'unknown zero-shot setting {name!r}; known: '
                       f'{sorted(ZERO_SHOT_SPLITS)}')
    split = ZeroShotSplit.build(name)
    return sorted(split.seen), sorted(split.unseen)
