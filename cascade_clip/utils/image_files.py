"""The images an inference run reads and the files it writes: listing a
folder, reading an image with an error that names it, one distinct output
name per image, and this tool's own outputs left out when ``--out`` is the
input folder."""
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
OUTPUT_SUFFIXES = ('_mask.png', '_overlay.png')


def read_image(path: str) -> np.ndarray:
    """An image as a BGR array; the error names an unreadable file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    if osp.getsize(path) == 0:
        raise ValueError(f'cannot read image {path}: the file is empty '
                         '(0 bytes)')
    try:
        image = mmcv.imread(path, channel_order='bgr')
    except Exception as err:  # OpenCV and PIL raise their own types
        reason = ' '.join(str(err).split()) or type(err).__name__
        raise ValueError(f'cannot read image {path}: {reason}') from err
    if image is None:
        raise ValueError(f'cannot read image {path}: not an image file')
    return image


def _is_output_of(name: str, others: Sequence[str]) -> bool:
    """Whether ``name`` is what :func:`segment_images` writes for one of
    ``others`` (file names)."""
    for other in others:
        if other == name:
            continue
        for stem in (osp.splitext(other)[0], other):
            if name in (stem + suffix for suffix in OUTPUT_SUFFIXES):
                return True
    return False


def list_images(path: str,
                out_dir: Optional[str] = None) -> Tuple[List[str], List[str]]:
    """The image itself, or the images in a folder (sorted), and the files
    left out as outputs of this tool: when ``out_dir`` is the folder,
    ``<image>_mask.png`` and ``<image>_overlay.png`` of its other images."""
    if osp.isdir(path):
        names = sorted(
            name for name in os.listdir(path)
            if name.lower().endswith(IMAGE_SUFFIXES)
            and osp.isfile(osp.join(path, name)))
        skipped = []
        if out_dir is not None and osp.isdir(out_dir) and osp.samefile(
                path, out_dir):
            skipped = [n for n in names if _is_output_of(n, names)]
            names = [n for n in names if n not in skipped]
        if not names:
            raise FileNotFoundError(f'no images ({", ".join(IMAGE_SUFFIXES)})'
                                    f' in {path}')
        return ([osp.join(path, n)
                 for n in names], [osp.join(path, n) for n in skipped])
    if not osp.isfile(path):
        raise FileNotFoundError(f'image or folder not found: {path}')
    return [path], []


def output_stems(images: Sequence[str]) -> List[str]:
    """A distinct output stem per image: its name without the extension,
    or with it (``a.jpg``) where two images share a stem; a number is
    added if names still collide."""
    names = [osp.basename(p) for p in images]
    plain = Counter(osp.splitext(n)[0].lower() for n in names)
    stems = [
        osp.splitext(n)[0] if plain[osp.splitext(n)[0].lower()] == 1 else n
        for n in names
    ]
    taken = Counter(s.lower() for s in stems)
    seen: Counter = Counter()
    unique = []
    for stem in stems:
        key = stem.lower()
        seen[key] += 1
        if taken[key] > 1:
            stem = f'{stem}_{seen[key]}'
        unique.append(stem)
    return unique


@dataclass
class InferencePlan:
    """What :func:`segment_images` will read and write.

    Attributes:
        images: The images to segment.
        outputs: Per image, its mask and overlay paths.
        skipped: Files of the folder left out as this tool's outputs.
        existing: Output paths that exist already.
    """
    images: List[str]
    outputs: List[Tuple[str, str]]
    skipped: List[str]
    existing: List[str]


def plan_inference(path: str, out_dir: str) -> InferencePlan:
    """The images under ``path`` and the files they will be written to."""
    images, skipped = list_images(path, out_dir)
    outputs = [
        tuple(osp.join(out_dir, stem + suffix) for suffix in OUTPUT_SUFFIXES)
        for stem in output_stems(images)
    ]
    existing = [p for pair in outputs for p in pair if osp.lexists(p)]
    return InferencePlan(images, outputs, skipped, existing)
