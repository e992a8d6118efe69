"""Label maps are checked when they are loaded: values that are no class of
the dataset and label maps that do not fit their image fail there, naming
the file(s) and the raw values or sizes, in the datasets and through the
real train and test tools."""
import glob
import logging
import os.path as osp

import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules
from PIL import Image
from tools_helpers import (VOC_INDUCTIVE, make_workspace, run_tools, snapshot,
                           write_checkpoint)

import cascade_clip.datasets  # noqa: F401  (registers the datasets)
from cascade_clip.testing import make_coco_stuff171, make_context59, make_voc20

MMSEG_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
CHECKED_PIPELINE = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]
VOC_VAL = dict(
    type='PascalVOC20Dataset',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/val.txt')
CONTEXT_VAL = dict(
    type='ZeroShotPascalContext59Dataset',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
    ann_file='ImageSets/SegmentationContext/val.txt')
COCO_VAL = dict(
    type='ZeroShotCOCOStuffDataset',
    data_prefix=dict(
        img_path='images/val2017', seg_map_path='annotations/val2017'))
# name: (generator, dataset config, raw values that are no class)
CASES = {
    'voc20': (make_voc20, VOC_VAL, [21, 50]),
    'context59': (make_context59, CONTEXT_VAL, [60, 77]),
    'coco_stuff171': (make_coco_stuff171, COCO_VAL, [171, 200]),
}


@pytest.fixture(scope='module', autouse=True)
def mmseg_scope():
    register_all_modules(init_default_scope=True)


def build(cfg, root, pipeline=CHECKED_PIPELINE, **kwargs):
    return DATASETS.build(
        dict(cfg, data_root=root, pipeline=pipeline, **kwargs))


def write_values(path: str, values, rows=slice(0, 3)) -> np.ndarray:
    """Writes ``values`` into the first rows of a label PNG (keeping a
    palette) and returns the new raw label map."""
    png = Image.open(path)
    raw = np.array(png)
    for k, value in enumerate(values):
        raw[rows, k::len(values)] = value
    out = Image.fromarray(raw)
    if png.mode == 'P':
        out.putpalette(png.getpalette())
    out.save(path)
    return raw


def label_of(dataset, index=0) -> np.ndarray:
    return dataset[index]['data_samples'].gt_sem_seg.data[0].numpy()


@pytest.mark.parametrize('name', sorted(CASES))
def test_checked_loading_gives_mmseg_labels_on_clean_data(name, tmp_path):
    make, cfg, _ = CASES[name]
    root = make(str(tmp_path))
    checked, plain = build(cfg, root), build(cfg, root, MMSEG_PIPELINE)
    for i in range(len(checked)):
        np.testing.assert_array_equal(label_of(checked, i), label_of(plain, i))


@pytest.mark.parametrize('name', sorted(CASES))
def test_values_outside_the_classes_name_the_file_and_raw_values(
        name, tmp_path):
    make, cfg, bad = CASES[name]
    dataset = build(cfg, make(str(tmp_path)))
    path = dataset.get_data_info(0)['seg_map_path']
    write_values(path, bad)
    with pytest.raises(ValueError) as error:
        dataset[0]
    message = str(error.value)
    assert f'label file {path} holds values {bad}' in message
    assert type(dataset).__name__ in message
    assert "out_of_range_labels='ignore'" in message
    # mmseg's loading takes them silently
    plain = build(cfg, dataset.data_root, MMSEG_PIPELINE)
    assert label_of(plain).shape == np.array(Image.open(path)).shape


def test_out_of_range_values_ignored_on_purpose(tmp_path):
    root = make_voc20(str(tmp_path))
    dataset = build(VOC_VAL, root, out_of_range_labels='ignore')
    path = dataset.get_data_info(0)['seg_map_path']
    clean = label_of(build(VOC_VAL, root))
    raw = write_values(path, [21, 50])
    logger = MMLogger.get_current_instance()
    messages = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        labels = [label_of(dataset) for _ in range(2)]
    finally:
        logger.removeHandler(handler)
    bad = (raw == 21) | (raw == 50)
    assert bad.any()
    for label in labels:
        assert (label[bad] == 255).all()
        np.testing.assert_array_equal(label[~bad], clean[~bad])
    warned = [m for m in messages if path in m]
    assert len(warned) == 1 and '[21, 50]' in warned[0]


def test_bad_out_of_range_option(tmp_path):
    root = make_voc20(str(tmp_path))
    with pytest.raises(ValueError, match="'error', 'ignore'"):
        build(VOC_VAL, root, out_of_range_labels='drop')


def test_label_of_another_size_names_both_files_and_sizes(tmp_path):
    dataset = build(CONTEXT_VAL, make_context59(str(tmp_path)))
    info = dataset.get_data_info(0)
    label = Image.open(info['seg_map_path'])
    width, height = label.size
    label.crop((0, 0, width, height - 7)).save(info['seg_map_path'])
    with pytest.raises(ValueError) as error:
        dataset[0]
    message = str(error.value)
    assert (f'image {info["img_path"]} is {height}x{width} but its label '
            f'{info["seg_map_path"]} is {height - 7}x{width}') in message


def test_colour_label_is_refused(tmp_path):
    dataset = build(CONTEXT_VAL, make_context59(str(tmp_path)))
    path = dataset.get_data_info(0)['seg_map_path']
    Image.open(path).convert('RGB').save(path)
    with pytest.raises(ValueError, match='3-channel image') as error:
        dataset[0]
    assert path in str(error.value)


# ------------------------------------------------ through the real tools
def voc_label_paths(root: str, split: str):
    """The tiny VOC label files of a split, relative to ``root`` (as the
    tools, run in ``root``, name them)."""
    data_root = osp.join('data', 'tiny', 'VOCdevkit', 'VOC2012')
    with open(
            osp.join(root, data_root, 'ImageSets', 'Segmentation',
                     split + '.txt')) as f:
        names = f.read().split()
    folder = 'SegmentationClassAug' if split == 'aug' else 'SegmentationClass'
    return [osp.join(data_root, folder, n + '.png') for n in names]


def shrink(path: str) -> str:
    label = Image.open(path)
    width, height = label.size
    label.crop((0, 0, width - 5, height)).save(path)
    return f'{height}x{width - 5}'


def failed(result) -> str:
    """The one line ``error: ...`` of a tool that stopped (exit status
    1)."""
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), (
        result.stderr[-3000:])
    return lines[0]


def workspace(root: str) -> str:
    make_workspace(root)
    write_checkpoint(VOC_INDUCTIVE, osp.join(root, 'random.pth'))
    return root


def all_training_labels(root: str):
    return voc_label_paths(root, 'train') + voc_label_paths(root, 'aug')


def test_test_tool_refuses_bad_values_and_sizes(tmp_path):
    """Values outside the classes, and a label of another size than its
    image: each fails the test tool at loading (both runs at once)."""
    values, sizes = (workspace(str(tmp_path / d)) for d in ('v', 's'))
    bad_values = voc_label_paths(values, 'val')[0]
    write_values(osp.join(values, bad_values), [21, 50])
    small = voc_label_paths(sizes, 'val')[0]
    size = shrink(osp.join(sizes, small))
    before = [snapshot(root) for root in (values, sizes)]
    results = run_tools([(['test.py', VOC_INDUCTIVE, 'random.pth'], root)
                         for root in (values, sizes)],
                        check=False)
    logs = [failed(result) for result in results]
    assert f'label file {bad_values} holds values [21, 50]' in logs[0]
    assert 'zero-shot summary' not in results[0].stdout
    # no file changed (the run's own log folder is new)
    for root, files in zip((values, sizes), before):
        after = snapshot(root)
        assert {path: after.get(path) for path in files} == files
    image = small.replace('SegmentationClass', 'JPEGImages')[:-4] + '.jpg'
    assert f'image {image} is ' in logs[1]
    assert f'but its label {small} is {size}' in logs[1]


def test_train_tool_refuses_bad_values_and_sizes(tmp_path):
    values, sizes = (workspace(str(tmp_path / d)) for d in ('v', 's'))
    for path in all_training_labels(values):
        write_values(osp.join(values, path), [21, 50])
    small = {
        path: shrink(osp.join(sizes, path))
        for path in all_training_labels(sizes)
    }
    before = [snapshot(root) for root in (values, sizes)]
    logs = [
        failed(result)
        for result in run_tools([(['train.py', VOC_INDUCTIVE], root)
                                 for root in (values, sizes)],
                                check=False)
    ]
    for root, files in zip((values, sizes), before):
        after = snapshot(root)
        assert {path: after.get(path) for path in files} == files
    assert any(f'label file {p} holds values [21, 50]' in logs[0]
               for p in all_training_labels(values))
    # the loading check comes before the model's remapped-value check
    assert 'labels hold values' not in logs[0]
    assert any(f'but its label {p} is {s}' in logs[1]
               for p, s in small.items())
    # both failed at loading, before any iteration saved a checkpoint
    for root in (values, sizes):
        assert not glob.glob(osp.join(root, 'work_dirs', '*', '*.pth'))
