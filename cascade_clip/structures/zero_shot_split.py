"""Which classes a zero-shot model learns from labels (seen) and which it
must recognise without them (unseen), and the paper's three splits
(docs/method.md §6).

Class ids are positions in the dataset's ``METAINFO['classes']``, i.e. label
values after the dataset's label reduction. The segmentor and the metric are
given the same fields (a config's ``zero_shot_split``) and each builds a
:class:`ZeroShotSplit` from them, so the ids are checked in one place: here.
"""
import operator
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from cascade_clip_runtime.classes import read_class_file
from .class_names import (COCO_STUFF171_CLASSES, CONTEXT59_CLASSES,
                          DATASET_CLASSES, SHAPES20_CLASSES, SHAPES20_UNSEEN,
                          SHAPES21_CLASSES, SHAPES21_UNSEEN, VOC20_CLASSES)

ClassRef = Union[int, str]  # a class id or a class name

# The settings of the paper, and the shapes world of the demo: every class
# in the dataset's order, and the unseen ones.
ZERO_SHOT_SPLITS = {
    'voc20':
    dict(classes=VOC20_CLASSES, unseen=(15, 16, 17, 18, 19)),
    'context59':
    dict(
        classes=CONTEXT59_CLASSES, unseen=(0, 2, 3, 7, 9, 13, 17, 19, 31, 37)),
    'coco_stuff171':
    dict(
        classes=COCO_STUFF171_CLASSES,
        unseen=(19, 23, 28, 29, 36, 51, 76, 88, 94, 112, 133, 136, 137, 157,
                160)),
    'shapes20':
    dict(classes=SHAPES20_CLASSES, unseen=SHAPES20_UNSEEN),
    'shapes21':
    dict(classes=SHAPES21_CLASSES, unseen=SHAPES21_UNSEEN),
}


def resolve_class_names(class_names: Union[str, Sequence[str]]) -> List[str]:
    """Class names from a list, the name of a dataset's class list (a key of
    :data:`~cascade_clip.structures.class_names.DATASET_CLASSES`: the
    settings of :data:`ZERO_SHOT_SPLITS` and the cross-dataset sets) or a
    text file with one name per line (blank lines skipped, no name
    twice)."""
    if not isinstance(class_names, str):
        return [str(name) for name in class_names]
    if class_names in DATASET_CLASSES:
        return list(DATASET_CLASSES[class_names])
    if osp.isfile(class_names):
        return read_class_file(class_names)
    if os.sep in class_names or class_names.lower().endswith('.txt'):
        raise FileNotFoundError(f'class name file not found: {class_names}')
    raise ValueError(
        f'class_names {class_names!r} is neither a known setting (class '
        f'lists {sorted(DATASET_CLASSES)}) nor a text file of class names')


def _class_ids(ids: Sequence[ClassRef], name: str) -> Tuple[ClassRef, ...]:
    """Distinct class ids (non-negative integers) or class names."""
    try:
        ids = tuple(
            i if isinstance(i, str) else operator.index(i) for i in ids)
    except TypeError:
        raise ValueError(f'{name} must be integer class ids or class names, '
                         f'got {ids!r}') from None
    repeated = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    if repeated:
        raise ValueError(f'{name} repeats class ids {repeated}')
    negative = [i for i in ids if not isinstance(i, str) and i < 0]
    if negative:
        raise ValueError(f'{name} {negative} are not class ids (negative); '
                         f'{name} holds {list(ids)}')
    return ids


def check_class_ids(
    seen: Optional[Sequence[ClassRef]], unseen: Sequence[ClassRef]
) -> Tuple[Optional[Tuple[ClassRef, ...]], Tuple[ClassRef, ...]]:
    """The checks that need no class list: integers or names, none negative
    or repeated, none both seen and unseen.

    Returns:
        The classes as tuples (``seen`` stays ``None`` when not given).
    """
    unseen = _class_ids(unseen, 'unseen_classes')
    if seen is not None:
        seen = _class_ids(seen, 'seen_classes')
        both = sorted(set(seen) & set(unseen), key=str)
        if both:
            raise ValueError(f'classes {both} are both seen and unseen')
    return seen, unseen


def _ids_of(classes: Tuple[ClassRef, ...], names: Optional[Sequence[str]],
            field: str) -> Tuple[int, ...]:
    """Class ids for ids or names of ``names``."""
    named = [c for c in classes if isinstance(c, str)]
    if not named:
        return classes
    if names is None:
        raise ValueError(f'{field} names classes ({named}), but the class '
                         'names are not known; give class_names')
    position = {name: k for k, name in enumerate(names)}
    unknown = [n for n in named if n not in position]
    if unknown:
        raise ValueError(f'{field} {unknown} are not among the {len(names)} '
                         f'class names ({list(names)[:10]}...)')
    return tuple(position[c] if isinstance(c, str) else c for c in classes)


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
    def build(
        cls,
        class_names: Union[str, Sequence[str], None] = None,
        num_classes: Optional[int] = None,
        seen_classes: Optional[Sequence[ClassRef]] = None,
        unseen_classes: Optional[Sequence[ClassRef]] = None
    ) -> 'ZeroShotSplit':
        """The split of a config's fields.

        Args:
            class_names: The classes: a list, a setting of
                :data:`ZERO_SHOT_SPLITS` (which also gives the unseen
                classes) or a text file with one name per line.
            num_classes: The class count, when no names are given.
            seen_classes: Ids or names; default: every class that is not
                unseen.
            unseen_classes: Ids or names; default: the setting's, else none.
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
        unseen = _ids_of(unseen, names, 'unseen_classes')
        if seen is None:
            seen = tuple(i for i in range(num_classes) if i not in unseen)
        seen = _ids_of(seen, names, 'seen_classes')
        return cls(num_classes, seen, unseen, names)


def seen_unseen(name: str) -> Tuple[List[int], List[int]]:
    """Sorted seen and unseen class ids of the setting ``name`` (a key of
    :data:`ZERO_SHOT_SPLITS`)."""
    if name not in ZERO_SHOT_SPLITS:
        raise KeyError(f'unknown zero-shot setting {name!r}; known: '
                       f'{sorted(ZERO_SHOT_SPLITS)}')
    split = ZeroShotSplit.build(name)
    return sorted(split.seen), sorted(split.unseen)
