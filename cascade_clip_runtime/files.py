"""The files an inference run reads and writes: listing a folder's images,
one distinct output name per image, this tool's own pictures left out when
``--out`` is the input folder, and never replacing a file without being
asked to."""
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
OUTPUT_SUFFIXES = ('_mask.png', '_overlay.png')


def _is_output_of(name: str, others: Sequence[str]) -> bool:
    """Whether ``name`` is what an inference run writes for one of
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
    """What an inference run will read and write.

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


def check_outputs_free(plan: InferencePlan, overwrite: bool) -> None:
    """Refuses, before anything is read or written, a run whose pictures
    exist already, unless ``overwrite``.

    Raises:
        FileExistsError: naming up to three of them.
    """
    if not plan.existing or overwrite:
        return
    count = len(plan.existing)
    more = f' and {count - 3} more' if count > 3 else ''
    raise FileExistsError(
        f'{", ".join(plan.existing[:3])}{more} '
        f'{"exists" if count == 1 else "exist"} already: pass '
        '--overwrite to replace, or choose another --out')


class RotatingFolders:
    """Numbered folders under ``root`` (``000001``, ``000002``, ...), a new
    one per :meth:`next`; only the last ``keep`` stay on disk (a server's
    results, which its pages have copied).

    Args:
        root: Where the folders go (made if missing).
        keep: How many folders stay.
    """

    def __init__(self, root: str, keep: int):
        self.root = root
        self.keep = keep
        self.count = 0

    def next(self) -> str:
        """Makes the next folder, removes the one ``keep`` before it, and
        returns its path."""
        import shutil
        self.count += 1
        folder = osp.join(self.root, f'{self.count:06d}')
        os.makedirs(folder, exist_ok=True)
        old = osp.join(self.root, f'{self.count - self.keep:06d}')
        if self.count > self.keep and osp.isdir(old):
            shutil.rmtree(old, ignore_errors=True)
        return folder
