"""Converters for the two cross-dataset sets mmseg has no converter for:
ADE20K-847 from the full ADE20K release and Pascal Context-459 from the full
Pascal Context annotation. Both write 16-bit label PNGs (train ids, 65535
ignored) that :class:`ADE20K847Dataset` and :class:`PascalContext459Dataset`
read; ``tools/dataset_converters/`` are their command lines and
data/README.md says where the input files come from.
"""
import os
import os.path as osp
import re
import shutil
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from ..structures.class_names import ADE20K_847_IDS, PASCAL_CONTEXT_459_CLASSES

IGNORE = 65535
ADE20K_RELEASE = 'ADE20K_2021_17_01'
ADE20K_SPLITS = ('training', 'validation')


# ----------------------------------------------------------------- ADE20K-847
def decode_ade20k_object_ids(seg: np.ndarray) -> np.ndarray:
    """The object class id of every pixel of a full-release ``*_seg.png``
    ``(H, W, 3)`` RGB array: ``R // 10 * 256 + G`` (B encodes instances);
    0 is unlabelled."""
    seg = seg.astype(np.int64)
    return seg[..., 0] // 10 * 256 + seg[..., 1]


def ade20k_847_lookup() -> np.ndarray:
    """``(max id + 1,)`` uint16 table: ADE object id -> 847-class train id,
    65535 for every other id (0 included)."""
    table = np.full(max(ADE20K_847_IDS) + 1, IGNORE, np.uint16)
    table[list(ADE20K_847_IDS)] = np.arange(len(ADE20K_847_IDS))
    return table


def ade20k_847_train_ids(object_ids: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint16 train ids of ADE object ids."""
    table = ade20k_847_lookup()
    inside = object_ids < len(table)
    out = np.full(object_ids.shape, IGNORE, np.uint16)
    out[inside] = table[object_ids[inside]]
    return out


def _resized_shape(height: int, width: int,
                   max_short_side: int) -> Optional[Tuple[int, int]]:
    """``(H, W)`` with the short side ``max_short_side`` when it is longer,
    else ``None``."""
    short = min(height, width)
    if not max_short_side or short <= max_short_side:
        return None
    scale = max_short_side / short
    return (max(1, round(height * scale)), max(1, round(width * scale)))


def _convert_ade_image(job: Tuple[str, str, str, str, int]) -> None:
    image_path, seg_path, image_out, label_out, max_short_side = job
    with Image.open(seg_path) as seg:
        labels = ade20k_847_train_ids(
            decode_ade20k_object_ids(np.asarray(seg.convert('RGB'))))
    with Image.open(image_path) as image:
        width, height = image.size
        if (height, width) != labels.shape:
            raise ValueError(
                f'{image_path} is {height}x{width} but {seg_path} is '
                f'{labels.shape[0]}x{labels.shape[1]} (height x width)')
        shape = _resized_shape(height, width, max_short_side)
        if shape is None:
            shutil.copyfile(image_path, image_out)
        else:
            image.convert('RGB').resize((shape[1], shape[0]),
                                        Image.BILINEAR).save(
                                            image_out, quality=95)
            labels = cv2.resize(
                labels, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    Image.fromarray(labels.astype(np.uint16)).save(label_out)


def find_ade20k_images(split_dir: str) -> List[Tuple[str, str]]:
    """``(image, *_seg.png)`` pairs under a split folder of the release
    (``images/ADE/validation``: scene folders holding ``ADE_*.jpg``), sorted
    by file name.

    Raises:
        FileNotFoundError: the folder is missing, holds no image, or an
            image has no ``*_seg.png``.
        ValueError: two images have the same file name.
    """
    if not osp.isdir(split_dir):
        raise FileNotFoundError(f'ADE20K release folder not found: '
                                f'{split_dir}')
    pairs, missing, seen = [], [], {}
    for folder, _, files in os.walk(split_dir):
        for name in files:
            if not name.endswith('.jpg'):
                continue
            image = osp.join(folder, name)
            seg = image[:-len('.jpg')] + '_seg.png'
            if not osp.isfile(seg):
                missing.append(seg)
            if name in seen:
                raise ValueError(f'two images named {name}: {seen[name]} '
                                 f'and {image}')
            seen[name] = image
            pairs.append((image, seg))
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} images under {split_dir} have no class mask, '
            f'e.g. {missing[:3]}')
    if not pairs:
        raise FileNotFoundError(f'no *.jpg images under {split_dir}')
    return sorted(pairs, key=lambda pair: osp.basename(pair[0]))


def convert_ade20k_847(release_root: str,
                       out_root: Optional[str] = None,
                       splits: Sequence[str] = ('validation', ),
                       max_short_side: int = 512,
                       nproc: int = 1) -> Dict[str, int]:
    """Converts the full ADE20K release to the 847-class layout.

    Reads ``<release_root>/images/ADE/<split>/**/ADE_*.jpg`` and the
    ``*_seg.png`` beside each (nothing else: not the ``.json``, parts or
    ``index_ade20k.pkl``). Writes ``<out_root>/images_847/<split>/<name>.jpg``
    and ``<out_root>/annotations_847/<split>/<name>.png``: the label a
    16-bit PNG of train ids 0-846 (the order of ``ade20k_847.tsv``), 65535
    for unlabelled pixels and the classes outside the 847. As in the
    literature, an image whose short side is longer than ``max_short_side``
    is resized to it (bilinear, JPEG quality 95; labels nearest); others are
    copied unchanged.

    Args:
        release_root: The unpacked release, ``.../ADE20K_2021_17_01``.
        out_root: Where to write (default: ``release_root``).
        splits: ``'training'`` and/or ``'validation'``.
        max_short_side: 0 keeps every image's size.
        nproc: Worker processes.

    Returns:
        The number of images converted per split.
    """
    out_root = out_root or release_root
    counts = {}
    for split in splits:
        if split not in ADE20K_SPLITS:
            raise ValueError(f'split must be one of {ADE20K_SPLITS}, not '
                             f'{split!r}')
        pairs = find_ade20k_images(
            osp.join(release_root, 'images', 'ADE', split))
        image_dir = osp.join(out_root, 'images_847', split)
        label_dir = osp.join(out_root, 'annotations_847', split)
        os.makedirs(image_dir, exist_ok=True)
        os.makedirs(label_dir, exist_ok=True)
        jobs = [(image, seg, osp.join(image_dir, osp.basename(image)),
                 osp.join(label_dir,
                          osp.basename(image)[:-len('.jpg')] + '.png'),
                 max_short_side) for image, seg in pairs]
        _run(_convert_ade_image, jobs, nproc)
        counts[split] = len(jobs)
    return counts


# --------------------------------------------------------- Pascal Context-459
_LABEL_LINE = re.compile(r'^\s*(\d+)\s*:\s*(.*?)\s*$')


def read_pascal_context_labels(path: str) -> List[str]:
    """The class names of the release's ``labels.txt`` (lines ``k: name``,
    ``k`` from 1), in the order of ``k``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a line of another form, or ids that are not 1 to N.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Pascal Context labels.txt not found: {path}')
    names = {}
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            match = _LABEL_LINE.match(line)
            if match is None:
                raise ValueError(f'{path} line {number} is not "<id>: <name>"'
                                 f': {line.strip()!r}')
            names[int(match.group(1))] = match.group(2)
    names.pop(0, None)  # an explicit "0: unlabelled", if any
    if sorted(names) != list(range(1, len(names) + 1)):
        raise ValueError(f'{path} numbers its classes {min(names)} to '
                         f'{max(names)} with gaps; expected 1 to N')
    return [names[k] for k in range(1, len(names) + 1)]


def pascal_context_459_train_ids(label_map: np.ndarray,
                                 source: str = 'LabelMap') -> np.ndarray:
    """``(H, W)`` uint16 train ids of a ``LabelMap``: 0 -> 65535
    (unlabelled), k -> k - 1.

    Raises:
        ValueError: values above 459, naming ``source``.
    """
    values = np.unique(label_map)
    bad = values[values > len(PASCAL_CONTEXT_459_CLASSES)].tolist()
    if bad:
        raise ValueError(f'{source} holds values {bad[:10]} above the 459 '
                         'classes of labels.txt')
    label_map = label_map.astype(np.int64)
    return np.where(label_map == 0, IGNORE, label_map - 1).astype(np.uint16)


def _convert_mat(job: Tuple[str, str]) -> None:
    from scipy.io import loadmat
    mat_path, out_path = job
    try:
        label_map = loadmat(mat_path)['LabelMap']
    except Exception as error:
        raise ValueError(f'cannot read LabelMap from {mat_path}: '
                         f'{type(error).__name__}: {error}') from error
    Image.fromarray(pascal_context_459_train_ids(label_map,
                                                 mat_path)).save(out_path)


def _write_missing_splits(voc2010: str, stems: Sequence[str]) -> List[str]:
    """Writes ``ImageSets/SegmentationContext/{train,val}.txt`` where they
    are missing, from VOC 2010's ``ImageSets/Main`` lists limited to the
    annotated images; returns the files written."""
    written = []
    have = set(stems)
    split_dir = osp.join(voc2010, 'ImageSets', 'SegmentationContext')
    for split in ('train', 'val'):
        target = osp.join(split_dir, split + '.txt')
        source = osp.join(voc2010, 'ImageSets', 'Main', split + '.txt')
        if osp.isfile(target) or not osp.isfile(source):
            continue
        with open(source) as f:
            names = [n for n in f.read().split() if n in have]
        os.makedirs(split_dir, exist_ok=True)
        with open(target, 'w') as f:
            f.writelines(n + '\n' for n in sorted(names))
        written.append(target)
    return written


def convert_pascal_context_459(voc2010: str,
                               mat_dir: Optional[str] = None,
                               labels_txt: Optional[str] = None,
                               out_dir: Optional[str] = None,
                               nproc: int = 1) -> Dict[str, object]:
    """Converts the full Pascal Context annotation to 459-class label PNGs.

    Reads ``labels.txt`` (``k: name``, 459 lines; checked against
    ``pascal_context_459.txt``) and every ``<mat_dir>/*.mat`` of the
    release's ``trainval.tar.gz`` (its ``LabelMap``: 0 unlabelled, k the
    k-th class of ``labels.txt``). Writes ``<out_dir>/<name>.png``: 16-bit,
    k - 1 for class k, 65535 unlabelled. Where VOC2010's
    ``ImageSets/SegmentationContext/{train,val}.txt`` (written by mmseg's
    Context-59 converter, the images the literature evaluates on) are
    missing, they are written from ``ImageSets/Main/{train,val}.txt``
    limited to the annotated images.

    Args:
        voc2010: ``.../VOCdevkit/VOC2010``.
        mat_dir: The unpacked ``trainval/`` (default ``voc2010/trainval``).
        labels_txt: Default ``voc2010/labels.txt``.
        out_dir: Default ``voc2010/SegmentationClassContext459``.
        nproc: Worker processes.

    Returns:
        ``converted`` (number of label files), ``renamed`` (``(k, release
        name, our name)`` of the classes whose names differ from ours) and
        ``splits_written`` (split files written).

    Raises:
        ValueError: ``labels.txt`` does not list 459 classes, or a
            ``LabelMap`` holds a value above 459.
    """
    mat_dir = mat_dir or osp.join(voc2010, 'trainval')
    labels_txt = labels_txt or osp.join(voc2010, 'labels.txt')
    out_dir = out_dir or osp.join(voc2010, 'SegmentationClassContext459')
    names = read_pascal_context_labels(labels_txt)
    if len(names) != len(PASCAL_CONTEXT_459_CLASSES):
        raise ValueError(f'{labels_txt} lists {len(names)} classes; the full '
                         'Pascal Context annotation has 459')
    renamed = [
        (k + 1, theirs, ours)
        for k, (theirs,
                ours) in enumerate(zip(names, PASCAL_CONTEXT_459_CLASSES))
        if theirs != ours
    ]
    if not osp.isdir(mat_dir):
        raise FileNotFoundError(f'folder of .mat files not found: {mat_dir}')
    stems = sorted(f[:-len('.mat')] for f in os.listdir(mat_dir)
                   if f.endswith('.mat'))
    if not stems:
        raise FileNotFoundError(f'no .mat files in {mat_dir}')
    os.makedirs(out_dir, exist_ok=True)
    _run(_convert_mat,
         [(osp.join(mat_dir, s + '.mat'), osp.join(out_dir, s + '.png'))
          for s in stems], nproc)
    return dict(
        converted=len(stems),
        renamed=renamed,
        splits_written=_write_missing_splits(voc2010, stems))


def _run(function, jobs: list, nproc: int) -> None:
    if nproc > 1 and len(jobs) > 1:
        with Pool(nproc) as pool:
            for _ in pool.imap_unordered(function, jobs, chunksize=8):
                pass
    else:
        for job in jobs:
            function(job)
