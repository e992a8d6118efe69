"""Class names of every dataset the configs know, as the datasets list them.

VOC-20, Context-59, COCO-Stuff-171, VOC-21 and ADE20K-150 take mmseg's
lists (ADE20K-150's ``'bed '`` without its trailing space), the shapes
the shapes world (:mod:`cascade_clip.synthetic.world`) its own, below.
ADE20K-847 and Pascal
Context-459 are read from ``class_lists/``:

- ``ade20k_847.tsv``: one line per class in train-id order, ``<ADE object
  id>\\t<name>``. The id is the class index that the full ADE20K release
  encodes in its ``*_seg.png`` files (``R // 10 * 256 + G``); the names are
  the release's WordNet-style object names (synonyms comma-separated). This
  is the 847-class subset of the open-vocabulary literature.
- ``pascal_context_459.txt``: one name per line in the order of the Pascal
  Context release's ``labels.txt`` (value ``k`` of a ``LabelMap`` is line
  ``k``, counted from 1).
"""
import os.path as osp
from typing import Dict, Tuple

from mmseg.datasets import (ADE20KDataset, COCOStuffDataset,
                            PascalContextDataset59, PascalVOCDataset)

from cascade_clip_runtime.classes import read_class_file

CLASS_LIST_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'class_lists')


def _read_ade20k_847() -> Tuple[Tuple[int, ...], Tuple[str, ...]]:
    ids, names = [], []
    with open(
            osp.join(CLASS_LIST_DIR, 'ade20k_847.tsv'), encoding='utf-8') as f:
        for line in f:
            ade_id, name = line.rstrip('\n').split('\t')
            ids.append(int(ade_id))
            names.append(name)
    return tuple(ids), tuple(names)


ADE20K_847_IDS, ADE20K_847_CLASSES = _read_ade20k_847()
PASCAL_CONTEXT_459_CLASSES = tuple(
    read_class_file(osp.join(CLASS_LIST_DIR, 'pascal_context_459.txt')))
ADE20K_150_CLASSES = tuple(name.strip()
                           for name in ADE20KDataset.METAINFO['classes'])
VOC21_CLASSES = tuple(PascalVOCDataset.METAINFO['classes'])
VOC20_CLASSES = VOC21_CLASSES[1:]
CONTEXT59_CLASSES = tuple(PascalContextDataset59.METAINFO['classes'])
COCO_STUFF171_CLASSES = tuple(COCOStuffDataset.METAINFO['classes'])

# The shapes world of the demo: every class a colour and a shape (5 x 4);
# one unseen class per colour, every shape unseen at least once.
SHAPES20_COLOURS = ('red', 'green', 'blue', 'yellow', 'purple')
SHAPES20_SHAPES = ('circle', 'square', 'triangle', 'cross')
SHAPES20_CLASSES = tuple(f'{colour} {shape}' for colour in SHAPES20_COLOURS
                         for shape in SHAPES20_SHAPES)
SHAPES20_UNSEEN = tuple(
    SHAPES20_CLASSES.index(name)
    for name in ('red circle', 'green square', 'blue triangle', 'yellow cross',
                 'purple circle'))
# The same world with its background as a class of its own (the web demo's
# model): ``background`` first, as raw label 0 is; the same unseen shapes.
SHAPES21_CLASSES = ('background', ) + SHAPES20_CLASSES
SHAPES21_UNSEEN = tuple(1 + i for i in SHAPES20_UNSEEN)

# Every named class list: the zero-shot settings and the cross-dataset
# evaluation sets.
DATASET_CLASSES: Dict[str, Tuple[str, ...]] = {
    'voc20': VOC20_CLASSES,
    'context59': CONTEXT59_CLASSES,
    'coco_stuff171': COCO_STUFF171_CLASSES,
    'shapes20': SHAPES20_CLASSES,
    'shapes21': SHAPES21_CLASSES,
    'voc21': VOC21_CLASSES,
    'ade20k150': ADE20K_150_CLASSES,
    'ade20k847': ADE20K_847_CLASSES,
    'pascal_context459': PASCAL_CONTEXT_459_CLASSES,
}
