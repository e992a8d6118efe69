"""A small world of coloured shapes in which zero-shot segmentation can be
learned and measured on a CPU.

Every class is a colour and a shape (``'red circle'``): 5 colours x 4 shapes
= 20 classes, VOC-20-like. The 5 unseen classes lie on a diagonal of that
grid, so each shares its colour with three seen classes and its shape with
three others: a model trained on the seen classes' masks can name an unseen
class only by composing what the text side knows about its two words.

A scene is an image of a few shapes on a textured, nearly grey background
with a VOC-style label map (0 background, ``1 + class id`` inside a shape).
Everything depends only on the seed.
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..structures.class_names import (SHAPES20_CLASSES, SHAPES20_SHAPES,
                                      SHAPES20_UNSEEN)
from ..structures.palettes import SHAPES20_RGB, voc_palette

# The world's vocabulary and colours live with the other class lists and
# palettes (cascade_clip.structures); these are their names here.
COLOURS: Dict[str, Tuple[int, int, int]] = SHAPES20_RGB
SHAPES = SHAPES20_SHAPES
CLASSES = SHAPES20_CLASSES
UNSEEN = SHAPES20_UNSEEN
SEEN = tuple(i for i in range(len(CLASSES)) if i not in UNSEEN)

SCENE_SIZE = 64
OBJECT_SIZES = (13, 22)  # smallest and largest side of a shape, pixels


def shape_mask(shape: str, size: int) -> np.ndarray:
    """``(size, size)`` bool silhouette of a shape filling its box."""
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    if shape == 'circle':
        return (y - c)**2 + (x - c)**2 <= (size / 2)**2
    if shape == 'square':
        margin = size * 0.08
        return ((np.abs(y - c) <= c - margin) & (np.abs(x - c) <= c - margin))
    if shape == 'triangle':
        # apex at the top, base at the bottom
        half_width = (y + 0.5) / size * (size / 2)
        return np.abs(x - c) <= half_width
    if shape == 'cross':
        arm = size / 6
        return (np.abs(y - c) <= arm) | (np.abs(x - c) <= arm)
    raise ValueError(f'unknown shape {shape!r}; known: {SHAPES}')


def background(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    """``(H, W, 3)`` float texture: a nearly grey level, soft stripes and
    blotches, and pixel noise; its colour never reaches a class colour's
    saturation."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    level = rng.uniform(80, 175)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 20)
    stripes = np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi /
                     period + rng.uniform(0, 2 * np.pi))
    blotches = np.zeros((h, w))
    for _ in range(3):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        radius = rng.uniform(8, 24)
        blotches += np.exp(-((y - cy)**2 + (x - cx)**2) / (2 * radius**2)) * \
            rng.uniform(-25, 25)
    grey = level + rng.uniform(5, 18) * stripes + blotches
    tint = rng.uniform(-10, 10, 3)
    image = grey[..., None] + tint + rng.normal(0, 6, (h, w, 3))
    return image


def _free_spot(rng,
               occupied: np.ndarray,
               side: int,
               margin: int = 2) -> Optional[Tuple[int, int]]:
    h, w = occupied.shape
    for _ in range(50):
        y0 = int(rng.integers(0, h - side + 1))
        x0 = int(rng.integers(0, w - side + 1))
        box = occupied[max(0, y0 - margin):y0 + side + margin,
                       max(0, x0 - margin):x0 + side + margin]
        if not box.any():
            return y0, x0
    return None


def render_scene(
    rng: np.random.Generator,
    class_ids: Sequence[int],
    size: Tuple[int, int] = (SCENE_SIZE, SCENE_SIZE),
    object_sizes: Tuple[int,
                        int] = OBJECT_SIZES) -> Tuple[np.ndarray, np.ndarray]:
    """An image with one shape per entry of ``class_ids`` (those that fit).

    Returns:
        ``(H, W, 3)`` uint8 RGB image and ``(H, W)`` uint8 VOC-style label:
        0 background, ``1 + class id`` on each shape.
    """
    image = background(rng, size)
    label = np.zeros(size, np.uint8)
    occupied = np.zeros(size, bool)
    colours = list(COLOURS.values())
    for class_id in class_ids:
        colour, shape = divmod(int(class_id), len(SHAPES))
        side = int(rng.integers(object_sizes[0], object_sizes[1] + 1))
        spot = _free_spot(rng, occupied, side)
        if spot is None:
            continue
        y0, x0 = spot
        mask = shape_mask(SHAPES[shape], side)
        rgb = np.asarray(colours[colour], np.float64) * rng.uniform(0.8, 1.1)
        region = (slice(y0, y0 + side), slice(x0, x0 + side))
        image[region][mask] = rgb + rng.normal(0, 8, (int(mask.sum()), 3))
        label[region][mask] = class_id + 1
        occupied[region] = True
    return image.clip(0, 255).round().astype(np.uint8), label


def random_scene(
    rng: np.random.Generator,
    classes: Sequence[int] = tuple(range(len(CLASSES))),
    max_objects: int = 4,
    size: Tuple[int, int] = (SCENE_SIZE, SCENE_SIZE)
) -> Tuple[np.ndarray, np.ndarray]:
    """A scene of 1 to ``max_objects`` shapes of distinct classes drawn
    from ``classes``."""
    count = int(rng.integers(1, max_objects + 1))
    ids = rng.choice(classes, size=min(count, len(classes)), replace=False)
    return render_scene(rng, ids, size)


def showcase_scene(
    rng: np.random.Generator, size: Tuple[int, int] = (SCENE_SIZE, SCENE_SIZE)
) -> Tuple[np.ndarray, np.ndarray]:
    """A scene of two unseen classes and one seen class."""
    ids = list(rng.choice(UNSEEN, 2, replace=False)) + [rng.choice(SEEN)]
    return render_scene(rng, ids, size)


def write_shapes_voc(root: str,
                     num_train: int = 2000,
                     num_val: int = 200,
                     seed: int = 0,
                     max_objects: int = 4,
                     showcase: int = 4) -> str:
    """Writes the world in Pascal VOC 2012's layout and returns its
    ``data_root``, ``root/VOCdevkit/VOC2012``.

    ``JPEGImages/*.jpg``, ``SegmentationClass/*.png`` (VOC palette PNGs: 0
    background, 1-20 the classes of :data:`CLASSES`) and
    ``ImageSets/Segmentation/{train,val}.txt``. Training scenes hold every
    class, unseen ones included, as a real dataset does; the inductive
    setting ignores their masks. The first ``showcase`` validation scenes
    are :func:`showcase_scene` ones, for pictures. A folder written with
    the same arguments is reused.
    """
    data_root = osp.join(root, 'VOCdevkit', 'VOC2012')
    lists = osp.join(data_root, 'ImageSets', 'Segmentation')
    stamp = osp.join(data_root, '.shapes_world')
    wanted = f'{num_train} {num_val} {seed} {max_objects} {showcase}'
    if osp.isfile(stamp) and open(stamp).read() == wanted:
        return data_root
    for folder in ('JPEGImages', 'SegmentationClass',
                   osp.join('ImageSets', 'Segmentation')):
        os.makedirs(osp.join(data_root, folder), exist_ok=True)
    palette = voc_palette()
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('val', num_val)):
        names = []
        for i in range(count):
            name = f'shapes_{split}_{i:05d}'
            if split == 'val' and i < showcase:
                image, label = showcase_scene(rng)
            else:
                image, label = random_scene(rng, max_objects=max_objects)
            Image.fromarray(image).save(
                osp.join(data_root, 'JPEGImages', name + '.jpg'), quality=95)
            png = Image.fromarray(label)
            png.putpalette(palette)
            png.save(osp.join(data_root, 'SegmentationClass', name + '.png'))
            names.append(name)
        with open(osp.join(lists, split + '.txt'), 'w') as f:
            f.writelines(name + '\n' for name in names)
    with open(stamp, 'w') as f:
        f.write(wanted)
    return data_root
