"""Prediction pictures and per-class IoU charts, through the functions and
the command line, with a tiny untrained model on a tiny generated VOC."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from mmengine.config import Config
from mmseg.registry import MODELS
from PIL import Image
from tools_helpers import VOC_PALETTE, run_tool_here

from cascade_clip.apis import visualize_predictions
from cascade_clip.datasets import build_split_dataset
from cascade_clip.testing import make_voc20, write_tiny_clip
from cascade_clip.visualization import (SEEN_COLOUR, UNSEEN_COLOUR,
                                        compose_picture, draw_iou_chart,
                                        legend_strip_height, plot_iou_chart,
                                        read_metrics)

TINY = osp.join(REPO, 'configs', 'tiny',
                'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py')
VOC_UNSEEN = {15, 16, 17, 18, 19}


def data_root_options(data_root):
    return {
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'train_dataloader.dataset.datasets.0.data_root': data_root,
        'train_dataloader.dataset.datasets.1.data_root': data_root,
    }


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny VOC (2 train + 2 val images of different sizes) and an
    untrained tiny model's checkpoint."""
    root = tmp_path_factory.mktemp('tiny')
    data_root = make_voc20(str(root / 'data'), num_train=2, num_val=2)
    clip = str(root / 'tiny-clip.pt')
    write_tiny_clip(clip)
    cfg = Config.fromfile(TINY)
    cfg.model.pretrained = clip
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = str(root / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    return dict(
        data_root=data_root,
        checkpoint=checkpoint,
        options=data_root_options(data_root))


def voc20_label(path):
    """A VOC label PNG as the dataset gives it (reduce_zero_label)."""
    raw = np.array(Image.open(path)).astype(np.int64)
    return np.where((raw == 0) | (raw == 255), 255, raw - 1)


def palette_ids(panel, palette):
    """Class ids of a panel's pixels, -1 where a colour is no class's."""
    ids = np.full(panel.shape[:2], -1)
    for class_id, colour in enumerate(palette):
        ids[(panel == colour).all(-1)] = class_id
    return ids


def test_prediction_pictures(tiny, tmp_path):
    pictures = visualize_predictions(
        TINY,
        tiny['checkpoint'],
        num=2,
        out_dir=str(tmp_path),
        cfg_options=tiny['options'],
        device='cpu')
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(tiny['options'])
    meta = build_split_dataset(cfg, 'val').metainfo
    classes, palette = meta['classes'], np.array(meta['palette'])
    assert palette.tolist() == VOC_PALETTE
    assert classes[0] == 'aeroplane' and classes[19] == 'tvmonitor'
    sizes = set()
    assert len(pictures) == 2
    for picture in pictures:
        assert osp.isfile(picture.path)
        assert osp.dirname(picture.path) == str(tmp_path)
        image = np.array(Image.open(picture.img_path).convert('RGB'))
        height, width = image.shape[:2]
        sizes.add((height, width))
        assert picture.image_size == (height, width)
        canvas = np.array(Image.open(picture.path).convert('RGB'))
        strip = legend_strip_height(3 * width, len(picture.legend))
        assert canvas.shape == (height + strip, 3 * width, 3)

        assert np.array_equal(canvas[:height, :width], image)
        stem = osp.splitext(osp.basename(picture.img_path))[0]
        gt = voc20_label(
            osp.join(tiny['data_root'], 'SegmentationClass', stem + '.png'))
        gt_panel = canvas[:height, width:2 * width]
        assert (gt == 255).any()
        assert (gt_panel[gt == 255] == 0).all()
        assert np.array_equal(gt_panel[gt != 255], palette[gt[gt != 255]])
        pred_ids = palette_ids(canvas[:height, 2 * width:], palette)
        assert (pred_ids >= 0).all(), 'prediction colours not in palette'

        assert picture.gt_classes == sorted(set(gt[gt != 255].tolist()))
        assert picture.pred_classes == sorted(set(pred_ids.ravel().tolist()))
        shown = sorted(set(picture.gt_classes) | set(picture.pred_classes))
        assert picture.legend == [
            classes[i] + (' (unseen)' if i in VOC_UNSEEN else '')
            for i in shown
        ]
    assert len(sizes) == 2, 'the two val images should differ in size'


def test_prediction_only_where_labelled(tiny, tmp_path):
    [full] = visualize_predictions(
        TINY,
        tiny['checkpoint'],
        num=1,
        out_dir=str(tmp_path / 'full'),
        cfg_options=tiny['options'],
        device='cpu')
    [only] = visualize_predictions(
        TINY,
        tiny['checkpoint'],
        num=1,
        out_dir=str(tmp_path / 'only'),
        cfg_options=tiny['options'],
        device='cpu',
        only_labelled=True)
    height, width = only.image_size
    stem = osp.splitext(osp.basename(only.img_path))[0]
    gt = voc20_label(
        osp.join(tiny['data_root'], 'SegmentationClass', stem + '.png'))
    full_pred = np.array(Image.open(full.path).convert('RGB'))[:height,
                                                               2 * width:]
    only_pred = np.array(Image.open(only.path).convert('RGB'))[:height,
                                                               2 * width:]
    assert (gt == 255).any() and (gt != 255).any()
    assert (only_pred[gt == 255] == 0).all()
    assert (full_pred[gt == 255] != 0).any(axis=-1).any()
    assert np.array_equal(only_pred[gt != 255], full_pred[gt != 255])
    assert set(only.pred_classes) <= set(full.pred_classes)


def test_train_split_uses_the_test_pipeline(tiny, tmp_path):
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(tiny['options'])
    dataset = build_split_dataset(cfg, 'train')
    assert type(dataset).__name__ == 'ConcatDataset' and len(dataset) == 2
    types = [t['type'] for t in cfg.val_dataloader.dataset.pipeline]
    for sub in dataset.datasets:
        assert [type(t).__name__ for t in sub.pipeline.transforms] == types
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        height, width = sample.ori_shape
        # no random crop: the short side is resized to 64, nothing cut
        assert sample.img_shape == (64, round(64 * width / height))
        assert sample.gt_sem_seg.shape == (height, width)
        assert 'flip' not in sample or not sample.flip

    pictures = visualize_predictions(
        cfg,
        tiny['checkpoint'],
        split='train',
        num=5,
        out_dir=str(tmp_path),
        device='cpu')
    assert [osp.basename(p.path) for p in pictures
            ] == ['0000_2007_000001.png', '0001_2007_000002.png']
    with pytest.raises(ValueError, match='split'):
        build_split_dataset(cfg, 'test')


def test_compose_picture_layout_and_legend():
    palette = [[200, 0, 0], [0, 200, 0], [0, 0, 200], [9, 9, 9]]
    names = ['cat', 'dog', 'sheep', 'cow']
    image = np.full((30, 50, 3), 77, np.uint8)
    gt = np.zeros((30, 50), np.int64)
    gt[:, 10:] = 2
    gt[:5] = 255
    pred = np.full((30, 50), 1)
    canvas, legend = compose_picture(
        image, gt, pred, names, palette, unseen_classes=[2], font_size=10)
    assert legend == ['cat', 'dog', 'sheep (unseen)']
    assert canvas.shape == (30 + legend_strip_height(150, 3, 10), 150, 3)
    assert (canvas[:5, 50:100] == 0).all()
    assert (canvas[5:30, 50:60] == [200, 0, 0]).all()
    assert (canvas[5:30, 60:100] == [0, 0, 200]).all()
    assert (canvas[:30, 100:] == [0, 200, 0]).all()
    # a wider picture puts the legend into several columns
    assert legend_strip_height(1500, 3, 10) < legend_strip_height(150, 3, 10)
    with pytest.raises(ValueError, match='same size'):
        compose_picture(image, gt, pred[:20], names, palette)
    with pytest.raises(ValueError, match='not classes'):
        compose_picture(image, gt, np.full((30, 50), 7), names, palette)


def metrics(unseen=True):
    names = ['wall', 'floor', 'tree', 'ceiling', 'sheep', 'sofa']
    ious = [50.0, 40.5, None, 20.25, 10.0, 30.0]
    rows = [
        dict(
            name=name,
            index=i,
            split='unseen' if unseen and i >= 4 else 'seen',
            IoU=iou,
            Acc=iou) for i, (name, iou) in enumerate(zip(names, ious))
    ]
    summary = dict(aAcc=70.0, mIoU=30.15, mAcc=33.0, mIoU_seen=36.92)
    if unseen:
        summary.update(mIoU_unseen=20.0, hIoU=25.94)
    return dict(summary=summary, per_class=rows)


def write(path, payload):
    with open(path, 'w') as f:
        json.dump(payload, f)
    return str(path)


def test_iou_chart_colours_bars_by_split(tmp_path):
    path = write(tmp_path / 'zero_shot_metrics.json', metrics())
    chart = plot_iou_chart(path, str(tmp_path / 'out' / 'chart.png'))
    assert chart.path == str(tmp_path / 'out' / 'chart.png')
    assert osp.getsize(chart.path) > 0
    ax = chart.figure.axes[0]
    bars = ax.patches
    assert len(bars) == 6
    colours = [to_hex(bar.get_facecolor()) for bar in bars]
    assert len(set(colours)) == 2
    assert colours == [SEEN_COLOUR] * 4 + [UNSEEN_COLOUR] * 2
    assert [bar.get_height() for bar in bars] == [50, 40.5, 0, 20.25, 10, 30]
    crosses = [
        line for line in ax.get_lines()
        if line.get_marker() == 'x' and len(line.get_xdata())
    ]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [2]
    title = ax.get_title()
    for number in ('mIoU(S) 36.92', 'mIoU(U) 20.00', 'hIoU 25.94'):
        assert number in title
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ['seen', 'unseen']
    legend_colours = [
        to_hex(h.get_facecolor()) for h in ax.get_legend().legend_handles
        if not isinstance(h, Line2D)
    ]
    assert legend_colours == [SEEN_COLOUR, UNSEEN_COLOUR]
    # the default output goes beside the JSON
    assert plot_iou_chart(path).path == str(tmp_path /
                                            'zero_shot_metrics_iou.png')


def test_iou_chart_cross_dataset_and_many_classes(tmp_path):
    chart = plot_iou_chart(
        write(tmp_path / 'cross.json', metrics(unseen=False)))
    ax = chart.figure.axes[0]
    assert {to_hex(bar.get_facecolor()) for bar in ax.patches} == {SEEN_COLOUR}
    assert 'mIoU(S) 36.92 | mIoU 30.15' in ax.get_title()
    assert 'hIoU' not in ax.get_title()

    def many(count):
        rows = [
            dict(name=f'class {i}', index=i, split='seen', IoU=1.0)
            for i in range(count)
        ]
        return dict(summary=dict(mIoU=1.0, mIoU_seen=1.0), per_class=rows)

    small, large = draw_iou_chart(many(30)), draw_iou_chart(many(171))
    assert len(large.axes[0].patches) == 171
    # horizontal bars, and the figure grows with the classes
    assert large.axes[0].patches[0].get_width() == 1.0
    assert large.get_size_inches()[1] > 0.2 * 171
    assert large.get_size_inches()[1] > 4 * small.get_size_inches()[1]


def test_iou_chart_errors(tmp_path):
    missing = str(tmp_path / 'nothing.json')
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        plot_iou_chart(missing)
    no_rows = write(tmp_path / 'summary_only.json', dict(summary={}))
    with pytest.raises(ValueError, match=r'summary_only\.json.*per_class'):
        read_metrics(no_rows)
    broken = tmp_path / 'broken.json'
    broken.write_text('{"summary": ')
    with pytest.raises(ValueError, match='broken.json'):
        plot_iou_chart(str(broken))


def test_cli(tiny, tmp_path, monkeypatch):
    out = tmp_path / 'pictures'
    options = [f'{k}={v}' for k, v in tiny['options'].items()]
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'visualize.py'), 'predictions', TINY,
        tiny['checkpoint'], '--num', '1', '--out',
        str(out), '--device', 'cpu', '--cfg-options', *options
    ],
                         capture_output=True,
                         text=True,
                         cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    written = str(out / '0000_2007_000003.png')
    assert run.stdout.strip().splitlines()[-1] == written
    assert osp.isfile(written)

    path = write(tmp_path / 'm.json', metrics())
    assert run_tool_here(
        ['visualize.py', 'iou-chart', path, '--out', tmp_path / 'c.png'],
        tmp_path, monkeypatch) == 0
    assert osp.getsize(tmp_path / 'c.png') > 0
