"""Running the real tools as subprocesses in a workspace of generated data."""
import os
import os.path as osp
import subprocess
import sys

import torch
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import MODELS

from cascade_clip.testing import (make_coco_stuff171, make_voc20,
                                  write_tiny_clip)

TINY = osp.join(REPO, 'configs', 'tiny')
VOC_INDUCTIVE = osp.join(TINY,
                         'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py')
VOC_TRANSDUCTIVE = osp.join(
    TINY, 'cascade-clip_tiny_1xb2-20_voc20-64x64_transductive.py')
COCO_INDUCTIVE = osp.join(
    TINY, 'cascade-clip_tiny_1xb2-20_coco-stuff171-64x64_inductive.py')
COCO_TO_VOC = osp.join(TINY,
                       'cascade-clip_tiny_coco-stuff171-to-voc20-64x64.py')

# Pascal VOC's colours of its classes 1-20 (aeroplane ... tvmonitor), written
# out rather than read from the palette under test.
VOC_PALETTE = [[128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
               [128, 0, 128], [0, 128, 128], [128, 128, 128], [64, 0, 0],
               [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128],
               [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0],
               [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128]]


def make_workspace(root: str, coco: bool = False) -> str:
    """The files the tiny configs expect, relative to ``root``: a tiny CLIP
    in ``clip_pretrain/`` and tiny datasets in ``data/tiny/``."""
    write_tiny_clip(osp.join(root, 'clip_pretrain', 'tiny-clip.pt'))
    make_voc20(osp.join(root, 'data', 'tiny'))
    if coco:
        make_coco_stuff171(osp.join(root, 'data', 'tiny'))
    return root


def _command(args):
    script = osp.join(REPO, 'tools', args[0])
    return (['bash', script] if script.endswith('.sh') else
            [sys.executable, script]) + [str(a) for a in args[1:]]


def _environment(env=None):
    # Scripts that call `python` get this interpreter (the venv's, also
    # when the venv is not activated). Tools run single-threaded unless the
    # caller says otherwise: the tiny models gain nothing from more threads,
    # and where the cores are busy (other tools started at once, other jobs)
    # OpenMP's threads wait for each other: a tiny-model prediction took
    # 1 s with 2 threads against 0.02 s with 1 on a loaded 2-core machine.
    full_env = dict(
        os.environ,
        PYTHONUNBUFFERED='1',
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    return full_env


def _check(command, result):
    assert result.returncode == 0, (
        f'{" ".join(command)} failed ({result.returncode}):\n'
        f'{result.stdout[-4000:]}\n{result.stderr[-4000:]}')


def run_tool(args, cwd, check=True, timeout=600, env=None):
    """Runs ``python tools/<args[0]> args[1:]`` (or a shell script) in
    ``cwd``; on failure the assertion shows the tool's output."""
    command = _command(args)
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_environment(env))
    if check:
        _check(command, result)
    return result


def run_tools(runs, check=True, timeout=600):
    """Runs several tools at once (``runs``: ``(args, cwd)`` or ``(args,
    cwd, env)``, as :func:`run_tool` takes them) and returns their results
    in order; the machine's cores then share the start-up (imports) of the
    tools."""
    started = []
    for args, cwd, *env in runs:
        command = _command(args)
        started.append((command,
                        subprocess.Popen(
                            command,
                            cwd=cwd,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True,
                            env=_environment(*env))))
    results = []
    try:
        for command, process in started:
            stdout, stderr = process.communicate(timeout=timeout)
            result = subprocess.CompletedProcess(command, process.returncode,
                                                 stdout, stderr)
            if check:
                _check(command, result)
            results.append(result)
    finally:
        for _, process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def pythonpath_with_tests() -> dict:
    """The environment variable that lets a tool's config import this
    folder's test hooks (``kill_hook``, ``capture_hook``), keeping any
    ``PYTHONPATH`` the suite runs with."""
    paths = [osp.join(REPO, 'tests'), os.environ.get('PYTHONPATH')]
    return dict(PYTHONPATH=os.pathsep.join(filter(None, paths)))


def work_dir(root: str, config: str) -> str:
    return osp.join(root, 'work_dirs', osp.splitext(osp.basename(config))[0])


def results_dir(root: str, config: str, checkpoint: str) -> str:
    """Where tools/test.py puts its results by default."""
    stem = osp.splitext(osp.basename(checkpoint))[0]
    return osp.join(work_dir(root, config), f'test_{stem}')


def write_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """A checkpoint of ``config``'s model with random weights (no training),
    in the format the training tool writes; for tests of the test tool."""
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = MODELS.build(dict(cfg.model, pretrained=None))
    model.init_weights()
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return path


def run_tool_here(args, cwd, monkeypatch) -> int:
    """Runs ``tools/<args[0]>`` in this process (as ``python`` would run
    it: ``__main__``, ``sys.argv``, working directory ``cwd``) and returns
    its exit code; for thin tools whose start-up (imports) this process has
    already paid. Their output goes to pytest's ``capsys``/``capfd``."""
    import runpy
    script = osp.join(REPO, 'tools', args[0])
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, 'argv', [script] + [str(a) for a in args[1:]])
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
        return 1
    return 0


def snapshot(root) -> dict:
    """``{path: (size, mtime_ns, sha1)}`` of every file under ``root``, to
    check that a tool changed none of them."""
    import hashlib
    files = {}
    for folder, _, names in os.walk(str(root)):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                digest = hashlib.sha1(f.read()).hexdigest()
            stat = os.stat(path)
            files[path] = (stat.st_size, stat.st_mtime_ns, digest)
    return files
