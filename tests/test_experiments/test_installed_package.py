"""Experiments from an installed package: the package is built as a wheel
and installed apart from the checkout (``pip install --no-deps --target``;
its dependencies are this environment's), and a two-seed multi-seed run
and a two-variant ablation of the tiny configs run from a folder that
holds only their data, with the installed package first on the path and
the checkout nowhere on it (no ``tools/``)."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from conftest import REPO
from tools_helpers import make_workspace

CONFIG = 'tiny/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'
VARIANTS = [
    'tiny/single-decoder_tiny_1xb2-40_voc20-64x64_inductive.py',
    'tiny/direct-aggregation_tiny_1xb2-40_voc20-64x64_inductive.py'
]
# 2 iterations, no validation (each run is tested)
OPTIONS = [
    '--cfg-options', 'train_cfg.max_iters=2',
    'default_hooks.checkpoint.interval=2', 'val_cfg=None',
    'val_dataloader=None', 'val_evaluator=None'
]


def pip(*args: str) -> None:
    result = subprocess.run([sys.executable, '-m', 'pip', *args],
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


@pytest.fixture(scope='module')
def installed(tmp_path_factory) -> dict:
    """The wheel built from a copy of the checkout's sources (the build
    writes beside them) and installed into a folder of its own; the
    environment that puts it first on the path."""
    root = tmp_path_factory.mktemp('installed')
    source = root / 'source'
    source.mkdir()
    for name in ('setup.py', 'README.md', 'requirements.txt'):
        shutil.copy(osp.join(REPO, name), source / name)
    # (a build's copy of configs/ inside the package left out)
    shutil.copytree(
        osp.join(REPO, 'cascade_clip'),
        source / 'cascade_clip',
        ignore=shutil.ignore_patterns('__pycache__', 'configs'))
    shutil.copytree(osp.join(REPO, 'configs'), source / 'configs')
    shutil.copytree(
        osp.join(REPO, 'cascade_clip_runtime'),
        source / 'cascade_clip_runtime',
        ignore=shutil.ignore_patterns('__pycache__', 'build', '*.egg-info'))
    pip('wheel', '--no-deps', '--no-build-isolation', '--no-index', '-w',
        str(root / 'wheels'), str(source))
    [wheel] = (root / 'wheels').glob('cascade_clip-*.whl')
    target = root / 'site'
    pip('install', '--no-deps', '--no-index', '--target', str(target),
        str(wheel))
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(
        PYTHONPATH=str(target), PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    workspace = make_workspace(str(root / 'workspace'))
    return dict(target=str(target), env=env, workspace=workspace)


def python(installed: dict, *args: str) -> subprocess.Popen:
    """``python ARGS`` in the workspace with the installed package."""
    return subprocess.Popen([sys.executable, *args],
                            cwd=installed['workspace'],
                            env=installed['env'],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True)


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output[-4000:]
    return output


def test_experiments_run_from_the_installed_package(installed):
    """Both experiments at once (the machine's cores share their tools'
    start-up); the package they and their runs import is the installed
    one, which knows no commit (it is no checkout)."""
    assert not osp.exists(osp.join(installed['workspace'], 'tools'))
    seeds = python(installed, '-m', 'cascade_clip.experiments.multi_seed',
                   CONFIG, '--seeds', '0', '1', '--work-dir', 'seeds',
                   *OPTIONS)
    ablation = python(installed, '-m', 'cascade_clip.experiments.ablation',
                      *VARIANTS, '--seeds', '0', '--work-dir', 'ablation',
                      *OPTIONS)
    where = python(
        installed, '-c', 'import cascade_clip.utils.machine as m; '
        'print(m.__file__); print(m.describe_machine()["commit"])')
    module, commit = finish(where).split()
    assert module.startswith(installed['target'] + os.sep), module
    assert commit == 'None'
    finish(seeds)
    finish(ablation)

    work = installed['workspace']
    with open(osp.join(work, 'seeds', 'multi_seed.json')) as f:
        result = json.load(f)
    assert [run['label'] for run in result['runs']] == ['seed 0', 'seed 1']
    assert result['summary']['hIoU']['n'] == 2
    with open(osp.join(work, 'ablation', 'ablation.json')) as f:
        result = json.load(f)
    assert [v['label'] for v in result['variants']
            ] == ['single-decoder', 'direct-aggregation']
    run = osp.join(work, 'seeds', 'seed_1')
    for console, module in (('train_console.log', 'cascade_clip.apis.train'),
                            ('test_console.log', 'cascade_clip.apis.test')):
        with open(osp.join(run, console)) as f:
            assert f.readline().startswith(
                f'$ {sys.executable} -m {module} {CONFIG} '), console
