"""Peak memory of ``tools/infer.py`` on one big photo, per number of
classes: each run in a fresh process, whose peak resident memory (imports
included) is measured as :mod:`cascade_clip.utils.memory` measures it."""
import os.path as osp
import subprocess
import tempfile
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
import torch

from ..apis.model import init_model
from ..structures import DATASET_CLASSES
from ..utils.memory import script_peak_rss_bytes

TINY_CONFIG = 'tiny/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'


def write_photo(path: str, size: Tuple[int, int]) -> str:
    """A smooth random picture of ``size`` ``(H, W)`` as a JPEG."""
    import mmcv
    height, width = size
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 255, (height // 100 + 2, width // 100 + 2, 3),
                          np.uint8)
    mmcv.imwrite(mmcv.imresize(coarse, (width, height)), path)
    return path


def write_tiny_checkpoint(path: str) -> str:
    """The tiny VOC model with random weights (memory does not depend on
    them), with its config, as training would store it."""
    torch.manual_seed(0)
    model = init_model(TINY_CONFIG, device='cpu')
    torch.save(
        dict(
            meta=dict(cfg=model.cfg.pretty_text),
            state_dict=model.state_dict()), path)
    return path


def class_file(work_dir: str, count: int) -> str:
    """A text file of the first ``count`` ADE20K-847 class names."""
    names = list(DATASET_CLASSES['ade20k847'])[:count]
    path = osp.join(work_dir, f'classes_{count}.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(names) + '\n')
    return path


def infer_memory(
        infer_tool: str,
        classes: Sequence[int],
        size: Tuple[int, int] = (3000, 4000),
        checkpoint: Optional[str] = None,
        work_dir: Optional[str] = None) -> Iterator[Tuple[int, float]]:
    """Runs ``infer_tool`` (``tools/infer.py``) on one photo of ``size``
    once per count of ``classes`` (the first K names of ADE20K-847, one
    template, on the CPU) and yields ``(K, peak RSS in MiB)``.

    Args:
        infer_tool: Path of ``tools/infer.py``.
        classes: Class counts.
        size: The photo's ``(H, W)``.
        checkpoint: Default: the tiny VOC model with random weights.
        work_dir: Where inputs and outputs go (default: a temporary
            folder).
    """
    work_dir = work_dir or tempfile.mkdtemp(prefix='infer_memory_')
    photo = write_photo(osp.join(work_dir, 'photo.jpg'), size)
    checkpoint = checkpoint or write_tiny_checkpoint(
        osp.join(work_dir, 'tiny.pth'))
    for count in classes:
        out = tempfile.mkdtemp(prefix=f'out_{count}_', dir=work_dir)
        args = [
            photo, '--checkpoint', checkpoint, '--classes',
            class_file(work_dir, count), '--templates', 'single', '--device',
            'cpu', '--out', out
        ]
        try:
            peak = script_peak_rss_bytes(
                infer_tool, args, capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            raise RuntimeError(
                f'{infer_tool} failed (exit {error.returncode}): '
                f'{error.stderr[-2000:]}') from error
        yield count, peak / 2**20
