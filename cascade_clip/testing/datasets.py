"""Tiny synthetic datasets in the exact layouts of the real, converted ones.

Each ``make_*`` function writes a handful of images and labels where mmseg's
converters put the real ones and returns the ``data_root`` to use in the
configs, so a config runs on them by changing ``data_root`` only.

An image is a jittered grid of cells; a cell holds a class, as a rectangle or
an inscribed ellipse, painted in that class's own colour plus Gaussian noise,
so that the class can be learned from the colour. The classes are spread over
the images of each split so that every class (seen and unseen) occurs in
every split. Images are JPEG, labels 8-bit PNG (16-bit where the classes
need it, as in ADE20K-847 and Pascal Context-459); the output depends only
on the arguments.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image

from ..structures.palettes import voc_palette

DEFAULT_SIZE = (96, 128)
_NOISE_STD = 8.0
_UNLABELLED_COLOUR = (128, 128, 128)
# Raw ids of COCO-Stuff's stuffthingmaps that no class uses (the COCO thing
# ids dropped in 2017, 0-based); the other 171 ids in order are train ids
# 0-170, as in mmseg's coco_stuff164k.py converter.
_COCO_UNUSED_RAW_IDS = (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)


def _class_colours() -> np.ndarray:
    """(256, 3) uint8 colour of each raw label value: 216 distinct colours
    (6 levels per channel, 43 apart) in a fixed shuffled order, and grey for
    255."""
    levels = np.linspace(20, 235, 6).round()
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing='ij'),
                    -1).reshape(-1, 3)
    grid = grid[np.random.default_rng(1234).permutation(len(grid))]
    colours = np.zeros((256, 3), np.uint8)
    colours[:255] = np.resize(grid, (255, 3))
    colours[255] = _UNLABELLED_COLOUR
    return colours


_COLOURS = _class_colours()


def _image_size(size: Tuple[int, int], index: int) -> Tuple[int, int]:
    """Sizes cycle through ``size``, ``size``, transposed and a taller one."""
    h, w = size
    return [(h, w), (h, w), (w, h), (h + h // 4, w - w // 4)][index % 4]


def _edges(rng: np.random.Generator, length: int, parts: int) -> np.ndarray:
    step = length / parts
    edges = np.linspace(0, length, parts + 1)
    edges[1:-1] += rng.uniform(-0.25, 0.25, parts - 1) * step
    return edges.round().astype(int)


def _paint_label(rng: np.random.Generator, size: Tuple[int, int],
                 class_ids: Sequence[int], fill: int) -> np.ndarray:
    """(H, W) uint8 label map: one jittered grid cell per class id, as a
    rectangle or an ellipse; the rest, at least one cell, is ``fill``."""
    h, w = size
    cells = len(class_ids) + 1
    rows = max(1, int(round(np.sqrt(cells * h / w))))
    cols = -(-cells // rows)
    if min(h / rows, w / cols) < 4:
        raise ValueError(f'an image of size {size} is too small for '
                         f'{len(class_ids)} classes: use a larger size or '
                         'more images')
    ys, xs = _edges(rng, h, rows), _edges(rng, w, cols)
    dtype = np.uint8 if max(max(class_ids, default=0), fill) <= 255 else \
        np.uint16
    label = np.full((h, w), fill, dtype)
    order = rng.permutation(rows * cols)
    for class_id, cell in zip(class_ids, order):
        r, c = divmod(int(cell), cols)
        y0, y1, x0, x1 = ys[r], ys[r + 1], xs[c], xs[c + 1]
        if rng.random() < 0.5:
            label[y0:y1, x0:x1] = class_id
        else:
            yy, xx = np.ogrid[y0:y1, x0:x1]
            inside = (((yy - (y0 + y1 - 1) / 2) / ((y1 - y0) / 2))**2 +
                      ((xx - (x0 + x1 - 1) / 2) / ((x1 - x0) / 2))**2) <= 1
            label[y0:y1, x0:x1][inside] = class_id
    return label


def _render(rng: np.random.Generator,
            label: np.ndarray,
            unlabelled: int = 255) -> np.ndarray:
    """(H, W, 3) uint8 RGB image: each pixel its class's colour (216 colours
    in turn) plus noise; grey where the label is ``unlabelled``."""
    if label.dtype == np.uint8 and unlabelled == 255:
        image = _COLOURS[label].astype(np.float64)
    else:
        image = _COLOURS[label % 216].astype(np.float64)
        image[label == unlabelled] = _UNLABELLED_COLOUR
    image += rng.normal(0.0, _NOISE_STD, image.shape)
    return image.clip(0, 255).round().astype(np.uint8)


def _void_borders(label: np.ndarray) -> np.ndarray:
    """VOC-style label: 255 on a 2-pixel band along every class boundary."""
    edge = np.zeros(label.shape, bool)
    vertical = label[1:] != label[:-1]
    edge[1:] |= vertical
    edge[:-1] |= vertical
    horizontal = label[:, 1:] != label[:, :-1]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    out = label.copy()
    out[edge] = 255
    return out


def _spread_classes(rng: np.random.Generator,
                    class_ids: Sequence[int],
                    num_images: int,
                    min_per_image: int = 3) -> List[List[int]]:
    """Class ids of each image, together covering all ``class_ids``."""
    shuffled = [int(i) for i in rng.permutation(class_ids)]
    per_image = [shuffled[i::num_images] for i in range(num_images)]
    for ids in per_image:
        while len(ids) < min(min_per_image, len(class_ids)):
            extra = int(rng.choice(class_ids))
            if extra not in ids:
                ids.append(extra)
    return per_image


def _save_image(path: str, image: np.ndarray) -> None:
    Image.fromarray(image).save(path, quality=90)


def _save_label(path: str, label: np.ndarray, palette=None) -> None:
    png = Image.fromarray(label)
    if palette is not None:
        png.putpalette(palette)
    png.save(path)


def _write_list(path: str, names: Sequence[str]) -> None:
    with open(path, 'w') as f:
        f.writelines(name + '\n' for name in sorted(names))


def _make_dirs(root: str, *dirs: str) -> None:
    for d in dirs:
        os.makedirs(osp.join(root, d), exist_ok=True)


def _check_counts(num_train: int, num_val: int, min_train: int = 1) -> None:
    if num_train < min_train or num_val < 1:
        raise ValueError(f'need num_train >= {min_train} and num_val >= 1, '
                         f'got {num_train} and {num_val}')


def _samples(rng: np.random.Generator, splits: Dict[str, int],
             class_ids: Sequence[int], fill: int, size: Tuple[int, int],
             name_format: str):
    """Yields ``(split, index in split, name, label)`` with the split's
    classes spread over its images and image sizes cycling."""
    image_index = 0
    for split, num in splits.items():
        for k, ids in enumerate(_spread_classes(rng, class_ids, num)):
            label = _paint_label(rng, _image_size(size, image_index), ids,
                                 fill)
            yield split, k, name_format.format(image_index + 1), label
            image_index += 1


def make_voc20(root: str,
               num_train: int = 4,
               num_val: int = 2,
               size: Tuple[int, int] = DEFAULT_SIZE,
               seed: int = 0) -> str:
    """Writes a tiny Pascal VOC 2012 + SBD as mmseg's ``voc_aug.py`` leaves
    it and returns its ``data_root``, ``root/VOCdevkit/VOC2012``.

    Raw labels: 0 background, 1-20 the classes, 255 void (a band along the
    boundaries in the VOC labels only, as SBD has none).

    - ``JPEGImages/*.jpg``: every image.
    - ``SegmentationClass/*.png``: VOC palette PNGs of the VOC train and val
      images.
    - ``SegmentationClassAug/*.png``: grey PNGs of the SBD images: the
      SBD-only training images, every VOC train image but the first (one
      missing from SBD, so a config that reads ``trainaug.txt`` with
      ``SegmentationClassAug`` fails here as it may on the real data) and
      the first val image.
    - ``ImageSets/Segmentation/``: ``train.txt`` (the first
      ``ceil(num_train / 2)`` training images), ``aug.txt`` (the rest, SBD
      only), ``trainaug.txt`` (both), ``val.txt`` and ``trainval.txt``.
    Each of train, aug and val holds all 20 classes.
    """
    _check_counts(num_train, num_val, min_train=2)
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, 'VOCdevkit', 'VOC2012')
    _make_dirs(data_root, 'JPEGImages', 'SegmentationClass',
               'SegmentationClassAug', 'ImageSets/Segmentation')
    num_voc_train = (num_train + 1) // 2
    splits = dict(
        train=num_voc_train, aug=num_train - num_voc_train, val=num_val)
    names: Dict[str, List[str]] = {split: [] for split in splits}
    palette = voc_palette()
    for split, k, name, label in _samples(rng, splits, range(1, 21), 0, size,
                                          '2007_{:06d}'):
        names[split].append(name)
        _save_image(
            osp.join(data_root, 'JPEGImages', name + '.jpg'),
            _render(rng, label))
        if split != 'aug':
            _save_label(
                osp.join(data_root, 'SegmentationClass', name + '.png'),
                _void_borders(label), palette)
        in_sbd = dict(train=k > 0, aug=True, val=k == 0)[split]
        if in_sbd:
            _save_label(
                osp.join(data_root, 'SegmentationClassAug', name + '.png'),
                label)
    lists = osp.join(data_root, 'ImageSets', 'Segmentation')
    _write_list(osp.join(lists, 'train.txt'), names['train'])
    _write_list(osp.join(lists, 'val.txt'), names['val'])
    _write_list(osp.join(lists, 'trainval.txt'), names['train'] + names['val'])
    _write_list(osp.join(lists, 'aug.txt'), names['aug'])
    _write_list(osp.join(lists, 'trainaug.txt'), names['train'] + names['aug'])
    return data_root


def make_context59(root: str,
                   num_train: int = 4,
                   num_val: int = 2,
                   size: Tuple[int, int] = DEFAULT_SIZE,
                   seed: int = 0) -> str:
    """Writes a tiny Pascal Context as mmseg's ``pascal_context.py`` leaves
    it and returns its ``data_root``, ``root/VOCdevkit/VOC2010``.

    ``JPEGImages/*.jpg``, ``SegmentationClassContext/*.png`` (grey, raw
    labels 0 background and 1-59 the classes) and
    ``ImageSets/SegmentationContext/{train,val}.txt``. Each split holds all
    59 classes.
    """
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, 'VOCdevkit', 'VOC2010')
    _make_dirs(data_root, 'JPEGImages', 'SegmentationClassContext',
               'ImageSets/SegmentationContext')
    splits = dict(train=num_train, val=num_val)
    names: Dict[str, List[str]] = {split: [] for split in splits}
    for split, _, name, label in _samples(rng, splits, range(1, 60), 0, size,
                                          '2008_{:06d}'):
        names[split].append(name)
        _save_image(
            osp.join(data_root, 'JPEGImages', name + '.jpg'),
            _render(rng, label))
        _save_label(
            osp.join(data_root, 'SegmentationClassContext', name + '.png'),
            label)
    for split in splits:
        _write_list(
            osp.join(data_root, 'ImageSets', 'SegmentationContext',
                     split + '.txt'), names[split])
    return data_root


def make_coco_stuff171(root: str,
                       num_train: int = 4,
                       num_val: int = 2,
                       size: Tuple[int, int] = DEFAULT_SIZE,
                       seed: int = 0) -> str:
    """Writes a tiny COCO-Stuff 164k as mmseg's ``coco_stuff164k.py`` leaves
    it and returns its ``data_root``, ``root/coco_stuff164k``.

    ``images/{train2017,val2017}/<12-digit id>.jpg`` and, in
    ``annotations/{train2017,val2017}/``, the stuffthingmaps label
    ``<id>.png`` (raw ids 0-181, 255 unlabelled) next to the converted
    ``<id>_labelTrainIds.png`` (0-170, 255 unlabelled). Each split holds all
    171 classes.
    """
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, 'coco_stuff164k')
    splits = dict(train2017=num_train, val2017=num_val)
    for split in splits:
        _make_dirs(data_root, osp.join('images', split),
                   osp.join('annotations', split))
    train_to_raw = np.full(256, 255, np.uint8)
    train_to_raw[:171] = [
        i for i in range(182) if i not in _COCO_UNUSED_RAW_IDS
    ]
    for split, _, name, label in _samples(rng, splits, range(171), 255, size,
                                          '{:012d}'):
        _save_image(
            osp.join(data_root, 'images', split, name + '.jpg'),
            _render(rng, label))
        annotations = osp.join(data_root, 'annotations', split)
        _save_label(osp.join(annotations, name + '.png'), train_to_raw[label])
        _save_label(osp.join(annotations, name + '_labelTrainIds.png'), label)
    return data_root


def make_ade20k150(root: str,
                   num_train: int = 4,
                   num_val: int = 2,
                   size: Tuple[int, int] = DEFAULT_SIZE,
                   seed: int = 0) -> str:
    """Writes a tiny ADE20K SceneParsing release (``ADEChallengeData2016.zip``
    unpacked, which mmseg reads as it is) and returns its ``data_root``,
    ``root/ADEChallengeData2016``.

    ``images/{training,validation}/ADE_{train,val}_<8 digits>.jpg`` and
    ``annotations/{training,validation}/<same name>.png`` (grey, raw labels
    0 "other" and 1-150 the classes). Each split holds all 150 classes.
    """
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, 'ADEChallengeData2016')
    splits = dict(training=num_train, validation=num_val)
    for split in splits:
        _make_dirs(data_root, osp.join('images', split),
                   osp.join('annotations', split))
    for split, k, _, label in _samples(rng, splits, range(1, 151), 0, size,
                                       '{:08d}'):
        name = f'ADE_{split[:5].replace("valid", "val")}_{k + 1:08d}'
        _save_image(
            osp.join(data_root, 'images', split, name + '.jpg'),
            _render(rng, label))
        _save_label(
            osp.join(data_root, 'annotations', split, name + '.png'), label)
    return data_root


# Scene folders of the full ADE20K release that the tiny copy uses.
_ADE_SCENES = ('cultural/apse__indoor', 'urban/street',
               'home_or_hotel/bedroom')
# An ADE object id outside the 847 classes (their label becomes ignore).
_ADE_OTHER_OBJECT = 3


def _ade_seg_png(rng: np.random.Generator,
                 object_ids: np.ndarray) -> np.ndarray:
    """The release's ``*_seg.png`` RGB encoding of object ids: R // 10 * 256
    + G is the id (R's last digit and B, the instance, vary)."""
    seg = np.zeros(object_ids.shape + (3, ), np.uint8)
    seg[...,
        0] = object_ids // 256 * 10 + rng.integers(0, 10, object_ids.shape)
    seg[..., 1] = object_ids % 256
    seg[..., 2] = rng.integers(0, 256, object_ids.shape)
    return seg


def make_ade20k847(root: str,
                   num_train: int = 4,
                   num_val: int = 2,
                   size: Tuple[int, int] = DEFAULT_SIZE,
                   seed: int = 0) -> str:
    """Writes a tiny full ADE20K release and its 847-class conversion, and
    returns the ``data_root``, ``root/ADE20K_2021_17_01``.

    - The release, per image: ``images/ADE/{training,validation}/<scene
      folders>/ADE_{train,val}_<8 digits>.jpg`` and ``..._seg.png`` (object
      ids in R and G, see :func:`_ade_seg_png`; 0 unlabelled; one object
      outside the 847 classes).
    - What ``tools/dataset_converters/ade20k_847.py`` makes of it (computed
      here independently): ``images_847/{training,validation}/<name>.jpg``
      (the same files, all small) and ``annotations_847/.../<name>.png``
      (16-bit train ids 0-846, 65535 ignored).
    Each split holds all 847 classes; the default size fits 424 of them in
    an image.
    """
    from ..structures.class_names import ADE20K_847_IDS
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, 'ADE20K_2021_17_01')
    to_train_id = np.full(max(ADE20K_847_IDS) + 1, 65535, np.uint16)
    for train_id, object_id in enumerate(ADE20K_847_IDS):
        to_train_id[object_id] = train_id
    splits = dict(training=num_train, validation=num_val)
    for split in splits:
        _make_dirs(data_root, osp.join('images_847', split),
                   osp.join('annotations_847', split))
    objects = list(ADE20K_847_IDS) + [_ADE_OTHER_OBJECT]
    for split, k, _, object_ids in _samples(rng, splits, objects, 0, size,
                                            '{:08d}'):
        name = f'ADE_{split[:5].replace("valid", "val")}_{k + 1:08d}'
        folder = osp.join(data_root, 'images', 'ADE', split,
                          _ADE_SCENES[k % len(_ADE_SCENES)])
        os.makedirs(folder, exist_ok=True)
        train_ids = to_train_id[object_ids]
        image = _render(rng, train_ids, unlabelled=65535)
        _save_image(osp.join(folder, name + '.jpg'), image)
        Image.fromarray(_ade_seg_png(rng, object_ids)).save(
            osp.join(folder, name + '_seg.png'))
        _save_image(
            osp.join(data_root, 'images_847', split, name + '.jpg'), image)
        _save_label(
            osp.join(data_root, 'annotations_847', split, name + '.png'),
            train_ids)
    return data_root


def make_pascal_context459(root: str,
                           num_train: int = 4,
                           num_val: int = 2,
                           size: Tuple[int, int] = DEFAULT_SIZE,
                           seed: int = 0) -> str:
    """Writes a tiny Pascal Context with its full annotation and returns the
    ``data_root``, ``root/VOCdevkit/VOC2010``.

    - The release: ``JPEGImages/*.jpg``; ``trainval/*.mat`` (``LabelMap``,
      uint16, 0 unlabelled, k the k-th class of ``labels.txt``);
      ``labels.txt`` (``k: name``, 459 lines); ``ImageSets/Main/{train,
      val}.txt``.
    - What mmseg's Context-59 converter leaves (so this copy serves the
      Context-59 configs too): ``SegmentationClassContext/*.png`` (0
      background, 1-59 the classes, from the same annotation) and
      ``ImageSets/SegmentationContext/{train,val}.txt``.
    - What ``tools/dataset_converters/pascal_context_459.py`` makes of it
      (computed here independently): ``SegmentationClassContext459/*.png``,
      16-bit, k - 1 for class k, 65535 unlabelled.
    Each split holds all 459 classes.
    """
    from scipy.io import savemat

    from ..structures.class_names import (CONTEXT59_CLASSES,
                                          PASCAL_CONTEXT_459_CLASSES)
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, 'VOCdevkit', 'VOC2010')
    _make_dirs(data_root, 'JPEGImages', 'trainval', 'SegmentationClassContext',
               'SegmentationClassContext459', 'ImageSets/SegmentationContext',
               'ImageSets/Main')
    with open(osp.join(data_root, 'labels.txt'), 'w') as f:
        f.writelines(f'{k}: {name}\n'
                     for k, name in enumerate(PASCAL_CONTEXT_459_CLASSES, 1))
    to_context59 = np.zeros(460, np.uint8)
    for k, name in enumerate(CONTEXT59_CLASSES, 1):
        to_context59[PASCAL_CONTEXT_459_CLASSES.index(name) + 1] = k
    splits = dict(train=num_train, val=num_val)
    names: Dict[str, List[str]] = {split: [] for split in splits}
    for split, _, name, label_map in _samples(rng, splits, range(1, 460), 0,
                                              size, '2008_{:06d}'):
        names[split].append(name)
        label_map = label_map.astype(np.uint16)
        train_ids = np.where(label_map == 0, 65535,
                             label_map.astype(np.int64) - 1).astype(np.uint16)
        _save_image(
            osp.join(data_root, 'JPEGImages', name + '.jpg'),
            _render(rng, train_ids, unlabelled=65535))
        savemat(
            osp.join(data_root, 'trainval', name + '.mat'),
            dict(LabelMap=label_map))
        _save_label(
            osp.join(data_root, 'SegmentationClassContext459', name + '.png'),
            train_ids)
        _save_label(
            osp.join(data_root, 'SegmentationClassContext', name + '.png'),
            to_context59[label_map])
    for split in splits:
        for lists in ('SegmentationContext', 'Main'):
            _write_list(
                osp.join(data_root, 'ImageSets', lists, split + '.txt'),
                names[split])
    return data_root


CUSTOM_CLASSES = ('sky', 'grass', 'road', 'car', 'person', 'tree', 'building',
                  'water')


def make_custom(root: str,
                num_train: int = 4,
                num_val: int = 2,
                size: Tuple[int, int] = DEFAULT_SIZE,
                seed: int = 0,
                class_names: Sequence[str] = CUSTOM_CLASSES) -> str:
    """Writes a tiny dataset in the custom layout (docs/datasets.md, "Your own
    dataset") and returns its ``data_root``, ``root/my_dataset``.

    ``classes.txt`` (one name per line), ``images/{train,val}/*.jpg`` and
    ``labels/{train,val}/*.png`` (grey, value k the k-th class of
    ``classes.txt`` counted from 0, 255 unlabelled). Each split holds every
    class.
    """
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, 'my_dataset')
    splits = dict(train=num_train, val=num_val)
    for split in splits:
        _make_dirs(data_root, osp.join('images', split),
                   osp.join('labels', split))
    with open(osp.join(data_root, 'classes.txt'), 'w') as f:
        f.writelines(name + '\n' for name in class_names)
    for split, _, name, label in _samples(rng, splits, range(len(class_names)),
                                          255, size, 'photo_{:04d}'):
        _save_image(
            osp.join(data_root, 'images', split, name + '.jpg'),
            _render(rng, label))
        _save_label(osp.join(data_root, 'labels', split, name + '.png'), label)
    return data_root


DATASET_MAKERS = dict(
    voc20=make_voc20,
    voc21=make_voc20,  # VOC 2012 with background: the same files
    context59=make_context59,
    coco_stuff171=make_coco_stuff171,
    ade20k150=make_ade20k150,
    ade20k847=make_ade20k847,
    pascal_context459=make_pascal_context459,
    custom=make_custom)
