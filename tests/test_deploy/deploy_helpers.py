"""What the deployment tests share: the optional packages, a Python that
cannot import torch, and running the runtime (``cascade_clip_runtime``)
in it."""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

RUNTIME = osp.join(REPO, 'cascade_clip_runtime')
DEPLOY_PACKAGES = ('onnx', 'onnxruntime', 'onnxscript')
REQUIRE_VARIABLE = 'CASCADE_REQUIRE_DEPLOY'
# What the runtime must run without: a subprocess that imports any of these
# fails, and says so on stderr.
BLOCKED = ('torch', 'torchvision', 'mmengine', 'mmseg', 'mmcv', 'cv2',
           'matplotlib')
BLOCKER = f'''"""Makes importing {", ".join(BLOCKED)} fail (a test's
sitecustomize)."""
import sys

BLOCKED = {set(BLOCKED)!r}


class BlockImports:

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            sys.stderr.write(f'blocked import: {{name}}\\n')
            raise ImportError(f'{{name}} cannot be imported here')
        return None


sys.meta_path.insert(0, BlockImports())
'''


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def require_deploy_packages() -> None:
    """Skips the calling test module when onnx, onnxruntime or onnxscript
    is missing; fails it instead when ``CASCADE_REQUIRE_DEPLOY=1``."""
    missing = [name for name in DEPLOY_PACKAGES if not _installed(name)]
    if not missing:
        return
    message = (f'{", ".join(missing)} not installed: pip install -e '
               '".[deploy]"')
    if os.environ.get(REQUIRE_VARIABLE) == '1':
        pytest.fail(f'{message} ({REQUIRE_VARIABLE}=1)', pytrace=False)
    pytest.skip(message, allow_module_level=True)


def torch_free_env(folder: str, pythonpath: Sequence[str] = ()) -> Dict:
    """The environment of a subprocess in which importing torch (or
    mmengine, mmseg, mmcv, cv2, matplotlib) raises ImportError: a
    ``sitecustomize.py`` in ``folder``, first on ``PYTHONPATH``, followed by
    ``pythonpath`` only."""
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'sitecustomize.py'), 'w') as f:
        f.write(BLOCKER)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env.setdefault('OMP_NUM_THREADS', '1')
    env['PYTHONPATH'] = os.pathsep.join([folder, *pythonpath])
    return env


def run_torch_free(args: Sequence[str],
                   cwd: str,
                   env: Dict,
                   check: bool = True) -> subprocess.CompletedProcess:
    """``python args...`` in the torch-free environment; asserts (with
    ``check``) that it succeeded and that nothing tried a blocked
    import."""
    result = subprocess.run([sys.executable, *args],
                            cwd=cwd,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert 'blocked import' not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, (
            f'{" ".join(args)} failed ({result.returncode}):\n'
            f'{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    return result


def copy_runtime(folder: str) -> str:
    """The runtime's folder copied alone into ``folder`` (as
    docs/deployment.md copies it); returns ``folder``, where ``python -m
    cascade_clip_runtime`` runs it."""
    os.makedirs(folder, exist_ok=True)
    shutil.copytree(
        RUNTIME,
        osp.join(folder, 'cascade_clip_runtime'),
        ignore=shutil.ignore_patterns('__pycache__'))
    return folder


def run_runtime(copied: str,
                args: Sequence[str],
                env: Dict,
                check: bool = True) -> subprocess.CompletedProcess:
    """``python -m cascade_clip_runtime args...`` from the folder the
    runtime was copied to (:func:`copy_runtime`), in the torch-free
    environment ``env``; checks that the copy is what ran."""
    where = run_torch_free(
        ['-c', 'import cascade_clip_runtime as r; print(r.__file__)'], copied,
        env)
    assert where.stdout.strip() == osp.join(copied, 'cascade_clip_runtime',
                                            '__init__.py'), where.stdout
    return run_torch_free(['-m', 'cascade_clip_runtime', *args], copied, env,
                          check)


def labels_of_mask(path: str, colours: np.ndarray) -> np.ndarray:
    """``(H, W)`` class indices of a mask picture drawn in ``colours``
    (one distinct colour per class)."""
    mask = np.asarray(Image.open(path).convert('RGB')).astype(np.int64)
    codes = (colours[:, 0].astype(np.int64) << 16) | (
        colours[:, 1].astype(np.int64) << 8) | colours[:, 2]
    assert len(set(codes.tolist())) == len(codes), 'colours repeat'
    pixels = (mask[..., 0] << 16) | (mask[..., 1] << 8) | mask[..., 2]
    order = np.argsort(codes)
    index = np.searchsorted(codes[order], pixels)
    assert (codes[order][np.minimum(index, len(codes) - 1)] == pixels).all()
    return order[index]


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a failed command printed on stderr, checked to be
    ``error: ...`` alone."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert len(lines) == 1 and lines[0].startswith('error: '), result.stderr
    return lines[0]


def write_images(folder: str, sizes: List[tuple], seed: int = 0) -> List[str]:
    """Random smooth RGB images (PNG, and JPEG for odd positions) of the
    given ``(H, W)`` sizes in ``folder``; their paths."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, (height, width) in enumerate(sizes):
        coarse = rng.integers(0, 256, (height // 8 + 2, width // 8 + 2, 3),
                              np.uint8)
        image = Image.fromarray(coarse).resize((width, height), Image.BILINEAR)
        path = osp.join(folder, f'image{i}.' + ('jpg' if i % 2 else 'png'))
        image.save(path)
        paths.append(path)
    return paths


def shares_lines(stdout: str) -> List[str]:
    """The ``<image>: name share, ...`` lines of an inference run."""
    return [
        line for line in stdout.splitlines() if ': ' in line
        and not line.startswith(' ') and not line.startswith('left out')
    ]


# Where PyTorch's best class leads the second by less than this, either
# engine may label the pixel with either: their scores differ by float32
# rounding (1e-7), and a random tiny model gives many classes near-equal
# scores.
TIE_MARGIN = 1e-6


def assert_same_pictures(images: Sequence[str],
                         names: Sequence[str],
                         ours: str,
                         theirs: str,
                         checkpoint: str,
                         config: Optional[str] = None) -> int:
    """Asserts that the runtime's masks in ``ours`` label each image as
    tools/infer.py's in ``theirs`` do (at a pixel where they differ,
    PyTorch's scores must tie: see :data:`TIE_MARGIN`), and that the
    overlays agree where the labels do; returns the pixels labelled
    differently."""
    from cascade_clip.analysis.onnx_benchmark import pytorch_score_gap
    from cascade_clip.apis import init_model
    from cascade_clip.models.text_embeddings import encode_class_names
    from cascade_clip_runtime.drawing import class_colours
    colours = class_colours(len(names))
    embeddings = None
    differing = 0
    for image in images:
        stem = osp.splitext(osp.basename(image))[0]
        labels = [
            labels_of_mask(osp.join(folder, f'{stem}_mask.png'), colours)
            for folder in (ours, theirs)
        ]
        differ = labels[0] != labels[1]
        if differ.any():
            if embeddings is None:
                model = init_model(config, checkpoint, 'cpu')
                embeddings = encode_class_names(model.text_encoder, names,
                                                'multi').numpy()
            margin = pytorch_score_gap(checkpoint, image, embeddings,
                                       labels[1], config)
            assert margin[differ].max() <= TIE_MARGIN, (
                f'{image}: {differ.sum()} pixels labelled differently, '
                f'where PyTorch\'s best class leads by up to '
                f'{margin[differ].max()}')
            differing += int(differ.sum())
        overlays = [
            np.asarray(Image.open(osp.join(folder, f'{stem}_overlay.png')))
            for folder in (ours, theirs)
        ]
        height, width = differ.shape
        same = ~differ
        assert (overlays[0][:height, :width][same] == overlays[1]
                [:height, :width][same]).all(), image
    return differing
