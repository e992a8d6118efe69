"""The cross-dataset sets (ADE20K-150, ADE20K-847, Pascal Context-459,
VOC-21) and the custom dataset: class lists, tiny copies in the real layouts
read through the checked pipeline, and the converters run on the tiny
releases."""
import os
import os.path as osp

import numpy as np
import pytest
from mmseg.datasets import PascalContextDataset59
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules
from PIL import Image
from tools_helpers import run_tool_here

import cascade_clip.datasets  # noqa: F401  (registers the datasets)
from cascade_clip.datasets.converters import (convert_ade20k_847,
                                              convert_pascal_context_459,
                                              decode_ade20k_object_ids)
from cascade_clip.structures.class_names import (ADE20K_150_CLASSES,
                                                 ADE20K_847_CLASSES,
                                                 ADE20K_847_IDS,
                                                 DATASET_CLASSES,
                                                 PASCAL_CONTEXT_459_CLASSES)
from cascade_clip.testing import (make_ade20k150, make_ade20k847, make_custom,
                                  make_pascal_context459, make_voc20)

PIPELINE = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]
ADE150 = dict(
    type='ADE20K150Dataset',
    data_prefix=dict(
        img_path='images/validation', seg_map_path='annotations/validation'))
ADE847 = dict(
    type='ADE20K847Dataset',
    data_prefix=dict(
        img_path='images_847/validation',
        seg_map_path='annotations_847/validation'))
PC459 = dict(
    type='PascalContext459Dataset',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassContext459'),
    ann_file='ImageSets/SegmentationContext/val.txt')
CONTEXT59 = dict(
    type='ZeroShotPascalContext59Dataset',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
    ann_file='ImageSets/SegmentationContext/val.txt')
VOC21 = dict(
    type='PascalVOC21Dataset',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/val.txt')
CUSTOM = dict(
    type='CustomZeroShotDataset',
    classes='classes.txt',
    data_prefix=dict(img_path='images/val', seg_map_path='labels/val'))


def reduce_zero(raw):
    out = raw.astype(np.int64) - 1
    out[(raw == 0) | (raw == 255)] = 255
    return out


# name: (generator, dataset config, classes, ignore index, raw -> label)
CASES = {
    'ade20k150': (make_ade20k150, ADE150, 150, 255, reduce_zero),
    'ade20k847': (make_ade20k847, ADE847, 847, 65535, lambda raw: raw),
    'pascal_context459':
    (make_pascal_context459, PC459, 459, 65535, lambda raw: raw),
    'context59_from_pc459':
    (make_pascal_context459, CONTEXT59, 59, 255, reduce_zero),
    'voc21': (make_voc20, VOC21, 21, 255, lambda raw: raw),
    'custom': (make_custom, CUSTOM, 8, 255, lambda raw: raw),
}


@pytest.fixture(scope='module', autouse=True)
def mmseg_scope():
    register_all_modules(init_default_scope=True)


def test_class_lists():
    assert len(ADE20K_847_CLASSES) == len(set(ADE20K_847_CLASSES)) == 847
    assert len(set(ADE20K_847_IDS)) == 847
    assert ADE20K_847_CLASSES[:3] == ('wall', 'building, edifice', 'sky')
    assert ADE20K_847_IDS[:3] == (2978, 312, 2420)
    assert ADE20K_847_CLASSES[-1] == 'adding machine, totalizer, totaliser'
    # labels.txt of Pascal Context is alphabetical; mmseg's Context-59
    # converter picks its 59 classes by their position in it (from 1)
    assert len(set(PASCAL_CONTEXT_459_CLASSES)) == 459
    assert list(PASCAL_CONTEXT_459_CLASSES) == sorted(
        PASCAL_CONTEXT_459_CLASSES)
    context59_ids = [
        2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80,
        85, 98, 104, 105, 113, 115, 144, 158, 159, 162, 187, 189, 207, 220,
        232, 258, 259, 260, 284, 295, 296, 308, 324, 326, 347, 349, 354, 355,
        360, 366, 368, 397, 415, 416, 420, 424, 427, 440, 445, 454, 458
    ]
    assert tuple(
        PASCAL_CONTEXT_459_CLASSES[i - 1]
        for i in context59_ids) == PascalContextDataset59.METAINFO['classes']
    assert 'bed' in ADE20K_150_CLASSES and 'bed ' not in ADE20K_150_CLASSES
    assert {
        k: len(v)
        for k, v in DATASET_CLASSES.items()
    } == dict(
        voc20=20,
        context59=59,
        coco_stuff171=171,
        voc21=21,
        ade20k150=150,
        ade20k847=847,
        pascal_context459=459,
        shapes20=20,
        shapes21=21)
    assert DATASET_CLASSES['voc21'][0] == 'background'


@pytest.mark.parametrize('case', sorted(CASES))
def test_tiny_copy_through_the_checked_pipeline(case, tmp_path):
    make, cfg, num_classes, ignore, expected = CASES[case]
    root = make(str(tmp_path))
    dataset = DATASETS.build(dict(cfg, data_root=root, pipeline=PIPELINE))
    assert len(dataset.metainfo['classes']) == num_classes
    assert dataset.ignore_index == ignore
    seen = set()
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        raw = np.array(Image.open(info['seg_map_path']))
        label = dataset[i]['data_samples'].gt_sem_seg.data[0].numpy()
        np.testing.assert_array_equal(label, expected(raw))
        seen |= set(np.unique(label).tolist())
    # every class of the set is in the split, and ignored pixels
    assert seen == set(range(num_classes)) | {ignore}


def test_ade20k_847_converter_gives_the_tiny_copy(tmp_path, monkeypatch,
                                                  capsys):
    release = make_ade20k847(str(tmp_path / 'data'))
    out = str(tmp_path / 'out')
    assert run_tool_here([
        'dataset_converters/ade20k_847.py', release, '--out-dir', out,
        '--split', 'training', 'validation'
    ], str(tmp_path), monkeypatch) == 0
    assert 'validation: 2 images converted' in capsys.readouterr().out
    for split, count in (('training', 4), ('validation', 2)):
        names = sorted(os.listdir(osp.join(release, 'images_847', split)))
        assert sorted(os.listdir(osp.join(out, 'images_847', split))) == names
        assert len(names) == count
        for name in names:
            label = name[:-4] + '.png'
            ours = np.array(
                Image.open(osp.join(out, 'annotations_847', split, label)))
            expected = np.array(
                Image.open(osp.join(release, 'annotations_847', split, label)))
            assert ours.dtype == np.uint16
            np.testing.assert_array_equal(ours, expected)
            with open(osp.join(out, 'images_847', split, name), 'rb') as a, \
                    open(osp.join(release, 'images_847', split, name),
                         'rb') as b:
                assert a.read() == b.read()  # small images are copied


def test_ade20k_847_converter_resizes_large_images(tmp_path):
    release = make_ade20k847(str(tmp_path / 'data'), num_train=2)
    counts = convert_ade20k_847(
        release, str(tmp_path / 'out'), max_short_side=48)
    assert counts == dict(validation=2)
    label_dir = tmp_path / 'out' / 'annotations_847' / 'validation'
    for label_file in sorted(label_dir.iterdir()):
        name = label_file.name[:-4]
        image = Image.open(tmp_path / 'out' / 'images_847' / 'validation' /
                           (name + '.jpg'))
        label = np.array(Image.open(label_file))
        assert min(label.shape) == 48
        assert image.size == (label.shape[1], label.shape[0])
        # nearest neighbour: only values of the full-size map
        full = np.array(
            Image.open(
                osp.join(release, 'annotations_847', 'validation',
                         name + '.png')))
        assert set(np.unique(label)) <= set(np.unique(full))


def test_ade20k_object_ids_decode_as_the_release_encodes_them():
    seg = np.array([[[120, 162, 7], [9, 0, 255], [0, 0, 0]]], np.uint8)
    assert decode_ade20k_object_ids(seg).tolist() == [[12 * 256 + 162, 0, 0]]


def test_pascal_context_459_converter_gives_the_tiny_copy(
        tmp_path, monkeypatch, capsys):
    voc2010 = make_pascal_context459(str(tmp_path / 'data'))
    out = str(tmp_path / 'out')
    assert run_tool_here([
        'dataset_converters/pascal_context_459.py', voc2010, '--out-dir', out
    ], str(tmp_path), monkeypatch) == 0
    assert '6 label maps converted' in capsys.readouterr().out
    expected_dir = osp.join(voc2010, 'SegmentationClassContext459')
    assert sorted(os.listdir(out)) == sorted(os.listdir(expected_dir))
    for name in os.listdir(out):
        ours = np.array(Image.open(osp.join(out, name)))
        assert ours.dtype == np.uint16
        np.testing.assert_array_equal(
            ours, np.array(Image.open(osp.join(expected_dir, name))))


def test_pascal_context_459_converter_checks_its_inputs(tmp_path):
    from scipy.io import savemat
    voc2010 = make_pascal_context459(str(tmp_path), num_train=1, num_val=1)
    split_dir = osp.join(voc2010, 'ImageSets', 'SegmentationContext')
    val = open(osp.join(split_dir, 'val.txt')).read()
    os.remove(osp.join(split_dir, 'val.txt'))
    labels = osp.join(voc2010, 'labels.txt')
    text = open(labels).read()
    with open(labels, 'w') as f:
        f.write(text.replace('63: casette recorder', '63: cassette recorder'))
    result = convert_pascal_context_459(voc2010)
    assert result['renamed'] == [(63, 'cassette recorder', 'casette recorder')]
    assert result['splits_written'] == [osp.join(split_dir, 'val.txt')]
    assert open(osp.join(split_dir, 'val.txt')).read() == val

    with open(labels, 'w') as f:
        f.write(text + '460: spaceship\n')
    with pytest.raises(ValueError, match='lists 460 classes'):
        convert_pascal_context_459(voc2010)
    with open(labels, 'w') as f:
        f.write(text)
    bad = osp.join(voc2010, 'trainval', '2008_000001.mat')
    savemat(bad, dict(LabelMap=np.full((4, 4), 470, np.uint16)))
    with pytest.raises(ValueError, match=r'\[470\] above the 459') as error:
        convert_pascal_context_459(voc2010)
    assert bad in str(error.value)
