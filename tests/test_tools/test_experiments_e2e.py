"""The paper's experiment flow, end to end, with the real tools on generated
data: inductive training -> transductive training from its checkpoint ->
evaluation with the seen / unseen / hIoU report; and cross-dataset
evaluation."""
import glob
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from tools_helpers import (COCO_INDUCTIVE, COCO_TO_VOC, VOC_INDUCTIVE,
                           VOC_TRANSDUCTIVE, make_workspace,
                           pythonpath_with_tests, results_dir, run_tool,
                           snapshot, work_dir)

from cascade_clip.checkpoint import model_config_from_official


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    return make_workspace(str(tmp_path_factory.mktemp('e2e')), coco=True)


@pytest.fixture(scope='module')
def inductive_run(workspace):
    return run_tool(['train.py', VOC_INDUCTIVE], workspace)


@pytest.fixture(scope='module')
def inductive(workspace, inductive_run):
    return work_dir(workspace, VOC_INDUCTIVE)


def test_the_console_of_a_training_run_is_readable(workspace, inductive_run):
    """40 iterations of the tiny VOC config: what runs, progress with ETA,
    the evaluation tables (per class at the last validation), under 80
    lines; the config and the optimizer's per-parameter listing are in the
    work dir's files, not on the console."""
    console = inductive_run.stdout + inductive_run.stderr
    lines = console.splitlines()
    assert len(lines) < 80, console
    for noise in ('Could not import OneDL', 'The draw is False',
                  'requires_grad=False', 'paramwise_options', 'Config:',
                  'System environment', 'Hooks will be executed'):
        assert noise not in console, noise
    work = work_dir(workspace, VOC_INDUCTIVE)
    for start in (f'training: {VOC_INDUCTIVE}', f'work dir: {work}',
                  'device: cpu', '20 classes: 15 seen, 5 unseen (pottedplant, '
                  'sheep, sofa, train, tvmonitor)', 'parameters: '):
        assert sum(f' - INFO - {start}' in line for line in lines) == 1, start
    progress = [line for line in lines if 'Iter(train)' in line]
    assert all('eta: ' in line for line in progress)
    for i in (10, 20, 30, 40):  # the logger's interval
        assert sum(f'Iter(train) [{i}/40]' in line for line in progress) == 1
    assert console.count('zero-shot summary:') == 2  # iterations 20 and 40
    assert console.count('unseen classes:') == 1  # the last validation
    [log_file] = glob.glob(osp.join(work, '*', '*.log'))
    assert f'full log: {log_file}' in console
    with open(log_file) as f:
        log = f.read()
    assert log.count('Config:') == 1 and 'paramwise_options' in log
    assert 'requires_grad=False' in log
    assert log.count('unseen classes:') == 2
    assert osp.isfile(osp.join(work, osp.basename(VOC_INDUCTIVE)))


def test_inductive_training_writes_checkpoints_and_validates(inductive):
    for name in ('iter_20.pth', 'iter_40.pth', 'last_checkpoint',
                 'zero_shot_metrics.json'):
        assert osp.isfile(osp.join(inductive, name)), name
    checkpoint = torch.load(
        osp.join(inductive, 'iter_40.pth'), weights_only=True)
    assert checkpoint['meta']['iter'] == 40
    assert {'state_dict', 'optimizer', 'param_schedulers',
            'message_hub'} <= set(checkpoint)


def test_transductive_training_starts_from_the_inductive_checkpoint(
        workspace, inductive):
    result = run_tool(['train.py', VOC_TRANSDUCTIVE], workspace)
    log = result.stdout + result.stderr
    assert 'iter_20.pth' in log and 'Load checkpoint from' in log
    st_dir = work_dir(workspace, VOC_TRANSDUCTIVE)
    assert osp.isfile(osp.join(st_dir, 'iter_20.pth'))

    checkpoint = osp.join(st_dir, 'iter_20.pth')
    training = snapshot(st_dir)
    result = run_tool(
        ['test.py', VOC_TRANSDUCTIVE, checkpoint, '--eval', 'mIoU'], workspace)
    log = result.stdout + result.stderr
    for table in ('seen classes:', 'unseen classes:', 'zero-shot summary:'):
        assert table in log
    for column in ('mIoU(S)', 'mIoU(U)', 'hIoU', 'pAcc'):
        assert column in log
    for name in ('aeroplane', 'person', 'pottedplant', 'tvmonitor'):
        assert name in log
    # the training's files are as they were; the results have their folder
    after = snapshot(st_dir)
    assert {k: after[k] for k in training} == training
    results = results_dir(workspace, VOC_TRANSDUCTIVE, checkpoint)
    with open(osp.join(results, 'zero_shot_metrics.json')) as f:
        report = json.load(f)
    assert set(report['summary']) == {
        'aAcc', 'mIoU', 'mAcc', 'mIoU_seen', 'mIoU_unseen', 'hIoU'
    }
    assert report['unseen_classes'] == [15, 16, 17, 18, 19]
    splits = [entry['split'] for entry in report['per_class']]
    assert splits == ['seen'] * 15 + ['unseen'] * 5


def test_transductive_without_its_inductive_checkpoint(tmp_path):
    result = run_tool(['train.py', VOC_TRANSDUCTIVE],
                      str(tmp_path),
                      check=False)
    assert result.returncode != 0
    assert ('checkpoint to start from not found: work_dirs/'
            'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive/iter_20.pth'
            ) in result.stderr
    assert 'train that config first' in result.stderr


def test_cross_dataset_evaluation_reports_all_classes(workspace):
    """No seen/unseen split is defined on the target dataset: one table of
    all classes, mIoU and pAcc, no class called seen."""
    run_tool([
        'train.py', COCO_INDUCTIVE, '--cfg-options', 'train_cfg.max_iters=4',
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=4'
    ], workspace)
    checkpoint = osp.join(work_dir(workspace, COCO_INDUCTIVE), 'iter_4.pth')
    result = run_tool(['test.py', COCO_TO_VOC, checkpoint, '--eval=mIoU'],
                      workspace)
    log = result.stdout + result.stderr
    # 'seen classes:' also stands for 'unseen classes:'
    assert 'all classes:' in log and 'seen classes:' not in log
    assert 'mIoU(U)' not in log and 'hIoU' not in log
    assert 'mIoU(S)' not in log
    assert 'tvmonitor' in log  # VOC's classes, not COCO's
    with open(
            osp.join(
                results_dir(workspace, COCO_TO_VOC, checkpoint),
                'zero_shot_metrics.json')) as f:
        report = json.load(f)
    assert set(report['summary']) == {'aAcc', 'mIoU', 'mAcc'}
    ious = [c['IoU'] for c in report['per_class'] if c['IoU'] is not None]
    assert report['summary']['mIoU'] == pytest.approx(
        sum(ious) / len(ious), abs=0.01)
    assert report['unseen_classes'] == report['seen_classes'] == []
    assert [c['split'] for c in report['per_class']] == [None] * 20
    assert len(report['per_class']) == 20


def test_paper_checkpoint_evaluates_without_conversion(workspace, golden_case):
    """tools/test.py takes an unconverted checkpoint of the paper's code,
    and its images reach the image encoder normalised as the paper's
    configs normalise them: ``(rgb - mean) / std`` with ImageNet's
    statistics. Every size of the model comes from the golden case (as in
    the parity tests); the data are the tiny dataset with the case's class
    count, tested at their own size (short side 96: no resize), so the
    first window is the image file's pixels."""
    case = golden_case
    data = torch.load(case + '.pt', weights_only=True)
    model = model_config_from_official(
        data['official_model_cfg'],
        text_embeddings=case + '.text_embedding.npy')
    datasets = {20: VOC_INDUCTIVE, 171: COCO_INDUCTIVE}
    num_classes = model['num_classes']
    assert num_classes in datasets, (
        f'no tiny dataset with the {num_classes} classes of {case}')
    cfg = Config.fromfile(datasets[num_classes])
    cfg.model = dict(model, data_preprocessor=cfg.model.data_preprocessor)
    cfg.test_evaluator = dict(
        type='ZeroShotIoUMetric',
        num_classes=num_classes,
        seen_classes=model['seen_classes'],
        unseen_classes=model['unseen_classes'])
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.type == 'ResizeShortestEdge':
            step.scale = 96  # the tiny images' short side
    record = osp.join(workspace, 'backbone_input.pth')
    cfg.custom_imports.imports.append('capture_hook')
    cfg.custom_hooks.append(dict(type='CaptureBackboneInputHook', path=record))
    config = osp.join(workspace, 'golden_case.py')
    cfg.dump(config)
    result = run_tool(['test.py', config, case + '.checkpoint.pth'],
                      workspace,
                      env=pythonpath_with_tests())
    log = result.stdout + result.stderr
    assert 'converted a checkpoint of the paper' in log
    assert 'zero-shot summary:' in log

    seen = torch.load(record, weights_only=True)
    bgr = cv2.imread(osp.join(workspace, seen['img_path']))
    assert bgr.shape[:2] == (96, 128)
    assert torch.equal(seen['packed'], torch.from_numpy(bgr).permute(2, 0, 1))
    rgb = torch.from_numpy(bgr[..., ::-1].copy()).permute(2, 0, 1).float()
    mean = torch.tensor([123.675, 116.28, 103.53])[:, None, None]
    std = torch.tensor([58.395, 57.12, 57.375])[:, None, None]
    expected = ((rgb - mean) / std)[:, :64, :64]  # the first 64x64 window
    received = seen['backbone_input'][0]
    assert received.shape == expected.shape
    assert torch.allclose(
        received, expected, atol=1e-5), (received - expected).abs().max()


def test_show_dir_and_out_write_pictures_and_label_pngs(
        workspace, inductive, tmp_path):
    show_dir, out = tmp_path / 'vis', tmp_path / 'preds'
    run_tool([
        'test.py', VOC_INDUCTIVE,
        osp.join(inductive, 'iter_40.pth'), '--show-dir', show_dir, '--out',
        out
    ], workspace)
    pictures = sorted(show_dir.rglob('*.png'))
    labels = sorted(out.glob('*.png'))
    assert len(pictures) == len(labels) == 2  # the tiny val split
    # in the dataset's raw ids (VOC: class k is k + 1, 0 the background)
    values = np.unique(np.asarray(Image.open(labels[0])))
    assert values.min() >= 1 and values.max() <= 20
