"""tools/dist_train.sh with two processes on the CPU (gloo)."""
import glob
import json
import os.path as osp
import socket

import distributed_step
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint
from mmseg.registry import MODELS
from tools_helpers import VOC_INDUCTIVE, make_workspace, run_tool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_process_training_and_validation(tmp_path):
    workspace = make_workspace(str(tmp_path))
    out = osp.join(workspace, 'work_dirs', 'dist')
    result = run_tool([
        'dist_train.sh', VOC_INDUCTIVE, 2, out, '--cfg-options',
        'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
        'default_hooks.checkpoint.interval=6'
    ],
                      workspace,
                      env=dict(MASTER_PORT=str(free_port())))
    console = result.stdout + result.stderr
    assert 'device: cpu x 2 processes' in console
    assert 'Saving checkpoint at 6 iterations' in console
    assert 'zero-shot summary:' in console  # validation ran to the end
    [log_file] = glob.glob(osp.join(out, '*', '*.log'))
    with open(log_file) as f:
        log = f.read()
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size

    with open(osp.join(out, 'zero_shot_metrics.json')) as f:
        assert 'hIoU' in json.load(f)['summary']
    cfg = Config.fromfile(VOC_INDUCTIVE)
    cfg.model.pretrained = None
    model = MODELS.build(cfg.model)
    checkpoint = load_checkpoint(
        model, osp.join(out, 'iter_6.pth'), map_location='cpu', strict=True)
    assert checkpoint['meta']['iter'] == 6
    assert not torch.equal(model.backbone.prompt_embeddings,
                           MODELS.build(cfg.model).backbone.prompt_embeddings)


def test_two_processes_of_one_image_step_like_one_process_of_two(tmp_path):
    """The mask loss divides the class count summed over the processes by
    the world size, so that DDP's gradient average equals one process's
    gradient of the whole batch."""
    torch.multiprocessing.start_processes(
        distributed_step.rank_step,
        args=(2, str(tmp_path)),
        nprocs=2,
        start_method='spawn')  # a fork of the test process may hang
    one, two, before = (
        torch.load(tmp_path / f'{name}.pth', weights_only=True)
        for name in ('one', 'two', 'before'))
    moved = [k for k in one if not torch.equal(one[k], before[k])]
    assert 'decode_head.q_projs.0.weight' in moved
    assert 'backbone.prompt_embeddings' in moved
    for key in one:
        assert torch.allclose(two[key], one[key], atol=1e-6), key
