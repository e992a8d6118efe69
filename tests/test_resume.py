"""A run killed mid-way resumes from its last checkpoint and ends with the
weights of an uninterrupted run; a checkpoint being written when the process
dies never replaces the previous one."""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import REPO
from tools_helpers import VOC_INDUCTIVE, make_workspace, run_tool

OPTIONS = [
    '--cfg-options', 'randomness.seed=1234', 'train_cfg.max_iters=8',
    'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=2'
]


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    return make_workspace(str(tmp_path_factory.mktemp('resume')))


def killing_config(path: str) -> str:
    """The tiny config plus a hook that SIGKILLs the run after iteration 5
    (its last checkpoint is iteration 4)."""
    with open(path, 'w') as f:
        f.write(
            textwrap.dedent(f"""\
            _base_ = '{VOC_INDUCTIVE}'
            custom_imports = dict(
                imports=['cascade_clip', 'kill_hook'],
                allow_failed_imports=False)
            custom_hooks = [
                dict(type='IterSeedHook'),
                dict(type='PlainMessageHubHook'),
                dict(type='KillAfterIterHook', iteration=5)
            ]
            """))
    return path


def weights(path):
    return torch.load(path, weights_only=True)['state_dict']


def test_killed_run_resumes_to_the_same_weights(workspace):
    straight = osp.join(workspace, 'work_dirs', 'straight')
    run_tool(['train.py', VOC_INDUCTIVE, '--work-dir', straight] + OPTIONS,
             workspace)

    config = killing_config(osp.join(workspace, 'killing.py'))
    resumed = osp.join(workspace, 'work_dirs', 'resumed')
    env = dict(PYTHONPATH=osp.join(REPO, 'tests'))
    killed = run_tool(['train.py', config, '--work-dir', resumed] + OPTIONS,
                      workspace, check=False, env=env)
    assert killed.returncode == -signal.SIGKILL
    assert osp.isfile(osp.join(resumed, 'iter_4.pth'))
    assert not osp.exists(osp.join(resumed, 'iter_6.pth'))

    result = run_tool(['train.py', VOC_INDUCTIVE, '--work-dir', resumed,
                       '--resume'] + OPTIONS, workspace)
    assert 'resumed epoch: 0, iter: 4' in result.stdout + result.stderr

    ours, reference = (weights(osp.join(resumed, 'iter_8.pth')),
                       weights(osp.join(straight, 'iter_8.pth')))
    assert ours.keys() == reference.keys()
    trained = weights(osp.join(resumed, 'iter_4.pth'))
    changed = [k for k in ours if not torch.equal(ours[k], trained[k])]
    assert 'decode_head.q_projs.0.weight' in changed  # it did train on
    for key in ours:
        assert torch.equal(ours[key], reference[key]), key


WRITER = """
import os, sys, time, torch
import cascade_clip  # registers the atomic backend
from mmengine.fileio import get_file_backend
backend = get_file_backend(sys.argv[1], backend_args=dict(backend='atomic_local'))
backend.put(b'good checkpoint', sys.argv[1])
def stall(fd):  # the disk stalls while the next checkpoint is written
    print('writing', flush=True)
    time.sleep(600)
os.fsync = stall
backend.put(b'x' * (32 << 20), sys.argv[1])
"""


def test_checkpoint_killed_while_written_keeps_the_previous_one(tmp_path):
    target = str(tmp_path / 'iter_4.pth')
    writer = subprocess.Popen([sys.executable, '-c', WRITER, target],
                              stdout=subprocess.PIPE, text=True)
    try:
        for line in writer.stdout:  # after what importing prints
            if line.strip() == 'writing':
                break
        else:
            pytest.fail('the writer ended before writing')
        partial = [f for f in os.listdir(tmp_path) if f.endswith('.part')]
        assert partial, 'the new checkpoint should be in a temporary file'
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
    with open(target, 'rb') as f:
        assert f.read() == b'good checkpoint'
