"""ZeroShotIoUMetric against values computed by hand on tiny label maps."""
import json
import math
import os
import warnings

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import cascade_clip.evaluation.zero_shot_metric as zero_shot_metric
from cascade_clip.evaluation import ZeroShotIoUMetric

X = 255  # ignored label

# Two 4x4 images over 4 classes; classes 0 and 1 seen, 2 and 3 unseen.
# yapf: disable
GT = [
    [[0, 0, 1, 1],
     [0, 0, 1, 1],
     [2, 2, 3, 3],
     [2, 2, X, X]],
    [[0, 0, 0, 0],
     [1, 1, 1, 1],
     [2, 2, 2, 2],
     [X, X, X, X]],
]
PRED = [
    [[0, 0, 1, 0],
     [0, 1, 1, 1],
     [2, 3, 3, 3],
     [2, 2, 0, 1]],
    [[0, 0, 0, 2],
     [1, 1, 1, 1],
     [2, 2, 3, 3],
     [0, 0, 0, 0]],
]
# yapf: enable
# Counted on the labelled pixels (14 + 12), summed over both images:
#   class  label  pred  intersection  union        IoU   Acc
#   0      4+4    4+3   3+3           8+7-6 = 9    6/9   6/8
#   1      4+4    4+4   3+4           8+8-7 = 9    7/9   7/8
#   2      4+4    3+3   3+2           8+6-5 = 9    5/9   5/8
#   3      2+0    3+2   2+0           2+5-2 = 5    2/5   2/2
IOU = [6 / 9, 7 / 9, 5 / 9, 2 / 5]
A_ACC = (6 + 7 + 5 + 2) / (8 + 8 + 8 + 2)


def percent(fraction):
    """What the metric reports for a fraction: percent, 2 decimals."""
    return round(fraction * 100, 2)


def samples(gts, preds):
    """Data samples as mmseg's evaluator hands them to ``process``."""
    return [
        dict(
            pred_sem_seg=dict(data=torch.tensor(p)[None]),
            gt_sem_seg=dict(data=torch.tensor(g)[None]))
        for g, p in zip(gts, preds)
    ]


def evaluate(metric, classes, gts=GT, preds=PRED):
    """Feeds the images one batch at a time and computes the metrics."""
    metric.dataset_meta = dict(classes=classes)
    for sample in samples(gts, preds):
        metric.process({}, [sample])
    return metric.compute_metrics(metric.results)


@pytest.fixture
def logged(monkeypatch):
    """Messages the metric prints."""
    messages = []
    monkeypatch.setattr(zero_shot_metric, 'print_log',
                        lambda msg, *args, **kwargs: messages.append(msg))
    return messages


def test_seen_unseen_and_harmonic_mean(logged):
    metric = ZeroShotIoUMetric(seen_classes=[0, 1], unseen_classes=[2, 3])
    out = evaluate(metric, ('a', 'b', 'c', 'd'))

    seen = (6 / 9 + 7 / 9) / 2  # 13/18
    unseen = (5 / 9 + 2 / 5) / 2  # 43/90
    assert set(out) == {
        'aAcc', 'mIoU', 'mAcc', 'mIoU_seen', 'mIoU_unseen', 'hIoU'
    }
    assert out['mIoU_seen'] == percent(13 / 18) == percent(seen) == 72.22
    assert out['mIoU_unseen'] == percent(43 / 90) == percent(unseen) == 47.78
    assert out['hIoU'] == percent(2 * seen * unseen / (seen + unseen))
    assert out['mIoU'] == percent((6 / 9 + 7 / 9 + 5 / 9 + 2 / 5) / 4)
    assert out['aAcc'] == percent(20 / 26) == percent(A_ACC)
    assert out['mAcc'] == percent((6 / 8 + 7 / 8 + 5 / 8 + 1) / 4)
    assert all(type(v) is float for v in out.values())

    text = '\n'.join(logged)
    assert 'seen classes' in text and 'unseen classes' in text
    for column in ('mIoU(S)', 'mIoU(U)', 'hIoU', 'mIoU', 'pAcc'):
        assert column in text
    assert f'{percent(IOU[3])}' in text  # per-class IoU of class 'd'


def test_seen_classes_default_to_the_rest():
    explicit = evaluate(
        ZeroShotIoUMetric(seen_classes=[0, 1], unseen_classes=[2, 3]),
        ('a', 'b', 'c', 'd'))
    default = evaluate(
        ZeroShotIoUMetric(unseen_classes=[2, 3]), ('a', 'b', 'c', 'd'))
    assert default == explicit


def test_without_unseen_classes(logged):
    metric = ZeroShotIoUMetric()
    with warnings.catch_warnings(), np.errstate(all='raise'):
        warnings.simplefilter('error', RuntimeWarning)
        out = evaluate(metric, ('a', 'b', 'c', 'd'))

    assert set(out) == {'aAcc', 'mIoU', 'mAcc', 'mIoU_seen'}
    assert out['mIoU_seen'] == out['mIoU'] == percent(
        (6 / 9 + 7 / 9 + 5 / 9 + 2 / 5) / 4)
    assert out['aAcc'] == percent(20 / 26)
    text = '\n'.join(logged)
    assert 'unseen classes' not in text
    assert 'mIoU(U)' not in text and 'hIoU' not in text


def test_absent_class_is_left_out_of_the_means():
    # Class 'e' is in neither the labels nor the predictions: IoU 0/0.
    metric = ZeroShotIoUMetric(unseen_classes=[2, 4])
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        out = evaluate(metric, ('a', 'b', 'c', 'd', 'e'))

    seen = (6 / 9 + 7 / 9 + 2 / 5) / 3  # classes 0, 1, 3
    unseen = 5 / 9  # class 2 only
    assert out['mIoU_seen'] == percent(seen)
    assert out['mIoU_unseen'] == percent(unseen)
    assert out['hIoU'] == percent(2 * seen * unseen / (seen + unseen))
    assert out['mIoU'] == percent((6 / 9 + 7 / 9 + 5 / 9 + 2 / 5) / 4)
    assert out['mAcc'] == percent((6 / 8 + 7 / 8 + 5 / 8 + 1) / 4)
    assert out['aAcc'] == percent(20 / 26)


def test_unseen_classes_all_absent_give_nan():
    metric = ZeroShotIoUMetric(unseen_classes=[4])
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        out = evaluate(metric, ('a', 'b', 'c', 'd', 'e'))
    assert math.isnan(out['mIoU_unseen']) and math.isnan(out['hIoU'])
    assert out['mIoU_seen'] == out['mIoU']


def test_harmonic_mean_is_zero_when_both_means_are():
    # Every labelled pixel is class 0 and predicted as 1: both IoUs are 0/4.
    metric = ZeroShotIoUMetric(unseen_classes=[1])
    with warnings.catch_warnings(), np.errstate(all='raise'):
        warnings.simplefilter('error', RuntimeWarning)
        out = evaluate(metric, ('a', 'b'), [[[0, 0], [0, 0]]],
                       [[[1, 1], [1, 1]]])
    assert out['mIoU_seen'] == out['mIoU_unseen'] == 0.0
    assert out['hIoU'] == 0.0
    assert out['aAcc'] == 0.0


def test_json_file(tmp_path):
    json_dir = tmp_path / 'not' / 'yet'
    metric = ZeroShotIoUMetric(
        seen_classes=[0, 1, 3], unseen_classes=[2, 4], json_dir=str(json_dir))
    out = evaluate(metric, ('a', 'b', 'c', 'd', 'e'))

    # the JSON and the full per-class tables, and no temp file
    assert sorted(os.listdir(json_dir)) == [
        'per_class_iou.txt', 'zero_shot_metrics.json'
    ]
    tables = (json_dir / 'per_class_iou.txt').read_text()
    assert 'seen classes' in tables and 'unseen classes' in tables
    with open(json_dir / 'zero_shot_metrics.json') as f:
        written = json.load(f)
    assert set(written) == {
        'summary', 'per_class', 'seen_classes', 'unseen_classes'
    }
    assert written['summary'] == out
    assert written['seen_classes'] == [0, 1, 3]
    assert written['unseen_classes'] == [2, 4]
    # yapf: disable
    assert written['per_class'] == [
        dict(name='a', index=0, split='seen', IoU=percent(6 / 9),
             Acc=percent(6 / 8)),
        dict(name='b', index=1, split='seen', IoU=percent(7 / 9),
             Acc=percent(7 / 8)),
        dict(name='c', index=2, split='unseen', IoU=percent(5 / 9),
             Acc=percent(5 / 8)),
        dict(name='d', index=3, split='seen', IoU=percent(2 / 5),
             Acc=percent(2 / 2)),
        dict(name='e', index=4, split='unseen', IoU=None, Acc=None),
    ]
    # yapf: enable
    assert 'NaN' not in (json_dir / 'zero_shot_metrics.json').read_text()

    # A second evaluation replaces the file.
    metric.results.clear()
    evaluate(metric, ('a', 'b', 'c', 'd', 'e'), GT[:1], PRED[:1])
    with open(json_dir / 'zero_shot_metrics.json') as f:
        assert json.load(f)['per_class'][0]['Acc'] == percent(3 / 4)
    assert sorted(os.listdir(json_dir)) == [
        'per_class_iou.txt', 'zero_shot_metrics.json'
    ]
    assert (json_dir / 'per_class_iou.txt').read_text() != tables


@pytest.mark.parametrize('kwargs, match', [
    (dict(seen_classes=[0, 1, 2],
          unseen_classes=[2, 3]), r'\[2\] are both seen and unseen'),
    (dict(unseen_classes=[3, 1, 3]), r'repeats class ids \[3\]'),
    (dict(seen_classes=[0, 0, 1]), r'repeats class ids \[0\]'),
    (dict(seen_classes=[-1, 0]), r'\[-1\]'),
    (dict(unseen_classes=[1.5]), 'integer'),
])
def test_bad_ids_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ZeroShotIoUMetric(**kwargs)


@pytest.mark.parametrize('kwargs, bad', [
    (dict(unseen_classes=[15, 25]), r'unseen_classes \[25\]'),
    (dict(seen_classes=[0, 20, 21],
          unseen_classes=[19]), r'seen_classes \[20, 21\]'),
])
def test_ids_past_the_last_class(kwargs, bad):
    classes = tuple(f'c{i}' for i in range(20))
    match = bad + r'.* 20 classes'

    # When the runner hands the dataset's classes over...
    metric = ZeroShotIoUMetric(**kwargs)
    with pytest.raises(ValueError, match=match):
        metric.dataset_meta = dict(classes=classes)

    # ... and again in compute_metrics, however the classes were set.
    metric._dataset_meta = dict(classes=classes)
    metric.results = [
        metric.intersect_and_union(
            torch.zeros(2, 2), torch.zeros(2, 2), 20, 255)
    ]
    with pytest.raises(ValueError, match=match):
        metric.compute_metrics(metric.results)


def test_through_evaluator_from_config(tmp_path):
    cfg = dict(
        type='ZeroShotIoUMetric',
        unseen_classes=[2, 3],
        json_dir=str(tmp_path),
        prefix='zs')
    with DefaultScope.overwrite_default_scope('mmseg'):
        evaluator = Evaluator(cfg)
    assert isinstance(evaluator.metrics[0], ZeroShotIoUMetric)
    evaluator.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    for gt, pred in zip(GT, PRED):
        sample = SegDataSample(
            gt_sem_seg=PixelData(data=torch.tensor(gt)[None]),
            pred_sem_seg=PixelData(data=torch.tensor(pred)[None]))
        evaluator.process([sample], {})
    out = evaluator.evaluate(len(GT))

    seen, unseen = 13 / 18, 43 / 90
    assert out['zs/mIoU_seen'] == percent(seen)
    assert out['zs/mIoU_unseen'] == percent(unseen)
    assert out['zs/hIoU'] == percent(2 * seen * unseen / (seen + unseen))
    assert out['zs/aAcc'] == percent(20 / 26)
    assert (tmp_path / 'zero_shot_metrics.json').is_file()


def test_class_in_neither_split(tmp_path, logged):
    metric = ZeroShotIoUMetric(
        seen_classes=[0, 1], unseen_classes=[2], json_dir=str(tmp_path))
    out = evaluate(metric, ('a', 'b', 'c', 'd'))

    assert out['mIoU_seen'] == percent((6 / 9 + 7 / 9) / 2)
    assert out['mIoU_unseen'] == percent(5 / 9)
    assert out['mIoU'] == percent((6 / 9 + 7 / 9 + 5 / 9 + 2 / 5) / 4)
    with open(tmp_path / 'zero_shot_metrics.json') as f:
        written = json.load(f)
    assert [c['split']
            for c in written['per_class']] == ['seen', 'seen', 'unseen', None]
    assert 'classes in neither split' in '\n'.join(logged)


def test_all_classes_without_a_split(tmp_path, logged):
    """Cross-dataset evaluation: no class is called seen or unseen."""
    metric = ZeroShotIoUMetric(class_split=False, json_dir=str(tmp_path))
    out = evaluate(metric, ('a', 'b', 'c', 'd'))

    assert set(out) == {'aAcc', 'mIoU', 'mAcc'}
    assert out['mIoU'] == percent(sum(IOU) / 4)
    assert out['aAcc'] == percent(A_ACC)
    text = '\n'.join(logged)
    assert 'all classes' in text
    assert 'seen classes' not in text and 'neither split' not in text
    assert 'mIoU(S)' not in text and 'mIoU(U)' not in text
    with open(tmp_path / 'zero_shot_metrics.json') as f:
        written = json.load(f)
    assert [c['split'] for c in written['per_class']] == [None] * 4
    assert written['seen_classes'] == written['unseen_classes'] == []
    assert written['summary'] == out


def test_no_split_takes_no_classes():
    with pytest.raises(ValueError, match='class_split=False'):
        ZeroShotIoUMetric(class_split=False, unseen_classes=[1])


def test_classes_by_name():
    by_id = evaluate(
        ZeroShotIoUMetric(seen_classes=[0, 1], unseen_classes=[2, 3]),
        ('a', 'b', 'c', 'd'))
    by_name = evaluate(
        ZeroShotIoUMetric(seen_classes=['a', 1], unseen_classes=['d', 'c']),
        ('a', 'b', 'c', 'd'))
    assert by_name == by_id
    metric = ZeroShotIoUMetric(unseen_classes=['c', 'sheep'])
    with pytest.raises(
            ValueError, match=r"\['sheep'\] are not among the 4 class names"):
        metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    with pytest.raises(ValueError, match='both seen and unseen'):
        ZeroShotIoUMetric(
            seen_classes=['a', 'b'], unseen_classes=['b']).class_splits(
                ('a', 'b'))


@pytest.mark.parametrize('num_classes, reduce_zero_label, dtype',
                         [(20, True, np.uint8), (171, False, np.uint8),
                          (300, False, np.uint16), (847, False, np.uint16),
                          (255, True, np.uint8), (256, True, np.uint16)])
def test_output_pngs_hold_the_raw_ids(tmp_path, num_classes, reduce_zero_label,
                                      dtype):
    """``--out``: the dataset's raw ids (class k is k + 1 where the zero
    label is reduced), 16-bit where 8 bits would wrap them around."""
    from PIL import Image
    metric = ZeroShotIoUMetric(
        num_classes=num_classes, output_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(num_classes)])
    pred = torch.tensor([[0, 1], [num_classes - 2, num_classes - 1]])
    sample = dict(
        pred_sem_seg=dict(data=pred[None]),
        gt_sem_seg=dict(data=pred[None]),
        img_path='/data/images/photo_1.jpg',
        reduce_zero_label=reduce_zero_label)
    metric.process({}, [sample])
    written = np.asarray(Image.open(tmp_path / 'photo_1.png'))
    assert written.dtype == dtype
    np.testing.assert_array_equal(written,
                                  pred.numpy() + int(reduce_zero_label))
    assert len(metric.results) == 1


def test_a_long_split_shows_its_highest_and_lowest(tmp_path, logged):
    """More than 40 classes in a split: the log's table shows the 10
    highest IoU (highest first) and the 10 lowest, classes without an IoU
    (absent from the images) last; the file beside the JSON has them all."""
    ious = [float(i) for i in range(42)] + [None] * 3
    rows = [
        dict(name=f'class{i}', index=i, split='seen', IoU=iou, Acc=iou)
        for i, iou in enumerate(ious)
    ]
    metric = ZeroShotIoUMetric(
        seen_classes=list(range(45)), json_dir=str(tmp_path))
    metric._log_tables(rows, {'mIoU_seen': 20.5})
    [table] = [m for m in logged if m.startswith('seen classes:')]
    shown = [
        int(line.split('|')[2]) for line in table.splitlines()
        if line.startswith('|') and 'Index' not in line
    ]
    assert shown == [41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
                     6, 5, 4, 3, 2, 1, 0, 42, 43, 44]  # yapf: disable
    assert '(45 classes: the 10 highest and 10 lowest IoU shown' in table
    full = (tmp_path / 'per_class_iou.txt').read_text()
    assert all(f' class{i} ' in full for i in range(45))
