"""A run killed mid-way resumes from its last checkpoint and ends with the
weights of an uninterrupted run; a checkpoint being written when the process
dies never replaces the previous one."""
import os
import os.path as osp
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from tools_helpers import (VOC_INDUCTIVE, make_workspace,
                           pythonpath_with_tests, run_tool)

# No seed: a run draws its own, as the configs leave randomness.seed unset.
OPTIONS = [
    '--cfg-options', 'train_cfg.max_iters=8', 'train_cfg.val_interval=4',
    'default_hooks.checkpoint.interval=2'
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
    """A run started without a seed, killed after iteration 5 and resumed
    with ``--resume`` alone (as a user runs it), ends with the weights of an
    uninterrupted run of its seed (read from its checkpoint)."""
    config = killing_config(osp.join(workspace, 'killing.py'))
    resumed = osp.join(workspace, 'work_dirs', 'resumed')
    killed = run_tool(
        ['train.py', config, '--work-dir', resumed] + OPTIONS,
        workspace,
        check=False,
        env=pythonpath_with_tests())
    assert killed.returncode == -signal.SIGKILL
    assert osp.isfile(osp.join(resumed, 'iter_4.pth'))
    assert not osp.exists(osp.join(resumed, 'iter_6.pth'))
    seed = torch.load(
        osp.join(resumed, 'iter_4.pth'), weights_only=True)['meta']['seed']

    straight = osp.join(workspace, 'work_dirs', 'straight')
    run_tool(['train.py', VOC_INDUCTIVE, '--work-dir', straight] + OPTIONS +
             [f'randomness.seed={seed}'], workspace)

    result = run_tool(
        ['train.py', VOC_INDUCTIVE, '--work-dir', resumed, '--resume'] +
        OPTIONS, workspace)
    assert 'resumed epoch: 0, iter: 4' in result.stdout + result.stderr

    ours, reference = (weights(osp.join(resumed, 'iter_8.pth')),
                       weights(osp.join(straight, 'iter_8.pth')))
    assert ours.keys() == reference.keys()
    trained = weights(osp.join(resumed, 'iter_4.pth'))
    changed = [k for k in ours if not torch.equal(ours[k], trained[k])]
    assert 'decode_head.q_projs.0.weight' in changed  # it did train on
    for key in ours:
        assert torch.equal(ours[key], reference[key]), key

    # The log history (the message hub) was restored too: the resumed run's
    # record of losses and learning rates covers all 8 iterations.
    ours, reference = (train_history(osp.join(resumed, 'iter_8.pth')),
                       train_history(osp.join(straight, 'iter_8.pth')))
    assert len(reference['train/loss']) == 8
    assert ours == reference

    # Resuming the run again: it is complete, and says so.
    again = run_tool(
        ['train.py', VOC_INDUCTIVE, '--work-dir', resumed, '--resume'] +
        OPTIONS, workspace)
    assert (f'the run in {resumed} is complete: '
            f'{osp.join(resumed, "iter_8.pth")} is iteration 8 of 8'
            ) in again.stdout
    assert 'Iter(train)' not in again.stdout + again.stderr


def train_history(path):
    """The training values logged in the message hub a checkpoint holds,
    without the timings (which differ from run to run). Validation results
    are left out: the validation at a checkpoint's iteration runs after the
    checkpoint is written, so a run resumed from it never has them."""
    hub = torch.load(path, weights_only=True)['message_hub']
    return {
        key: buffer['log_history']
        for key, buffer in hub['log_scalars'].items()
        if key.startswith('train/') and 'time' not in key
    }


WRITER = """
import os, sys, time, torch
import cascade_clip  # registers the atomic backend
from mmengine.fileio import get_file_backend
path, method = sys.argv[1:]
backend = get_file_backend(path, backend_args=dict(backend='atomic_local'))
data = (lambda text: text) if method == 'put_text' else str.encode
getattr(backend, method)(data('good checkpoint'), path)
def stall(fd):  # the disk stalls while the next file is written
    print('writing', flush=True)
    time.sleep(600)
os.fsync = stall
getattr(backend, method)(data('x' * (32 << 20)), path)
"""


# put writes checkpoints, put_text the last_checkpoint file
@pytest.mark.parametrize('method', ['put', 'put_text'])
def test_checkpoint_killed_while_written_keeps_the_previous_one(
        tmp_path, method):
    target = str(tmp_path / 'iter_4.pth')
    writer = subprocess.Popen([sys.executable, '-c', WRITER, target, method],
                              stdout=subprocess.PIPE,
                              text=True)
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


class Unexpected:
    """A type no checkpoint of ours holds."""


def test_checkpoints_load_with_numpy_metadata_and_refuse_other_objects(
        tmp_path):
    """Checkpoints load with ``weights_only`` (torch's default, and what
    mmengine's loader gets) inside ``checkpoint_globals()``, where the
    runner and ``init_model`` load them: numpy metadata, as the paper's
    checkpoints carry, is allowed; any other object is refused; after the
    block numpy is not allowed any more."""
    from mmengine.runner.checkpoint import _load_checkpoint

    from cascade_clip.checkpoint import checkpoint_globals
    meta = dict(
        palette=np.array([[128, 0, 0], [0, 128, 0]], np.uint8),
        seed=np.int64(3),
        mean=np.float64(0.5),
        dtype=np.dtype('float32'))
    good = str(tmp_path / 'numpy_meta.pth')
    torch.save(dict(meta=meta, state_dict=dict(w=torch.ones(2))), good)
    bad = str(tmp_path / 'unexpected.pth')
    torch.save(dict(meta=dict(obj=Unexpected()), state_dict={}), bad)
    with checkpoint_globals():
        for loaded in (_load_checkpoint(good, map_location='cpu'),
                       torch.load(good, weights_only=True)):
            assert np.array_equal(loaded['meta']['palette'], meta['palette'])
            assert loaded['meta']['seed'] == 3
            assert loaded['meta']['dtype'] == np.dtype('float32')
        with pytest.raises(pickle.UnpicklingError, match='Unexpected'):
            _load_checkpoint(bad, map_location='cpu')
    if hasattr(torch.serialization, 'safe_globals'):  # torch >= 2.5: scoped
        with pytest.raises(pickle.UnpicklingError, match='numpy'):
            torch.load(good, weights_only=True)


def test_a_seed_given_with_resume_is_replaced_by_the_runs(
        tmp_path, monkeypatch):
    """``--resume`` continues the run of the last checkpoint with its seed;
    another seed on the command line is replaced, with a warning."""
    import cascade_clip.engine.experiment as experiment
    from cascade_clip.apis import train_config
    work = tmp_path / 'run'
    work.mkdir()
    checkpoint = work / 'iter_2.pth'
    torch.save(dict(meta=dict(seed=7, iter=2), state_dict={}), checkpoint)
    (work / 'last_checkpoint').write_text(str(checkpoint))
    warnings = []
    monkeypatch.setattr(experiment, 'print_log',
                        lambda message, **kwargs: warnings.append(message))
    cfg = train_config(
        VOC_INDUCTIVE,
        work_dir=str(work),
        resume=True,
        cfg_options={'randomness.seed': 3})
    assert cfg.randomness.seed == 7
    assert warnings == [
        f'--resume continues the run of {checkpoint} with its seed 7, not '
        'randomness.seed=3'
    ]
    # the run's own seed given again: no warning
    warnings.clear()
    cfg = train_config(
        VOC_INDUCTIVE,
        work_dir=str(work),
        resume=True,
        cfg_options={'randomness.seed': 7})
    assert cfg.randomness.seed == 7 and warnings == []
