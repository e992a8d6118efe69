"""Datasets, splits and the tiny dataset generator, on generated data in the
real layouts."""
import filecmp
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import mmseg
import numpy as np
import pytest
from conftest import REPO
from mmseg.registry import DATASETS, TRANSFORMS
from mmseg.utils import register_all_modules
from PIL import Image

import cascade_clip.datasets  # noqa: F401  (registers the datasets)
from cascade_clip.structures import ZERO_SHOT_SPLITS, seen_unseen
from cascade_clip.testing import make_coco_stuff171, make_context59, make_voc20

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
CHECKED_PIPELINE = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]

VOC = dict(type='PascalVOC20Dataset', data_prefix=dict(img_path='JPEGImages'))
VOC_TRAIN = dict(
    VOC,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt')
VOC_AUG = dict(
    VOC,
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file='ImageSets/Segmentation/aug.txt')
VOC_VAL = dict(VOC_TRAIN, ann_file='ImageSets/Segmentation/val.txt')
CONTEXT_TRAIN = dict(
    type='ZeroShotPascalContext59Dataset',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
    ann_file='ImageSets/SegmentationContext/train.txt')
CONTEXT_VAL = dict(
    CONTEXT_TRAIN, ann_file='ImageSets/SegmentationContext/val.txt')
COCO_TRAIN = dict(
    type='ZeroShotCOCOStuffDataset',
    data_prefix=dict(
        img_path='images/train2017', seg_map_path='annotations/train2017'))
COCO_VAL = dict(
    COCO_TRAIN,
    data_prefix=dict(
        img_path='images/val2017', seg_map_path='annotations/val2017'))


def reduce_zero(raw: np.ndarray) -> np.ndarray:
    """Raw 0 and 255 -> 255, k -> k - 1."""
    out = raw.astype(np.int64) - 1
    out[(raw == 0) | (raw == 255)] = 255
    return out


# name: (generator, dataset config, number of classes, raw -> label)
CASES = {
    'voc20_train': ('voc20', VOC_TRAIN, 20, reduce_zero),
    'voc20_aug': ('voc20', VOC_AUG, 20, reduce_zero),
    'voc20_val': ('voc20', VOC_VAL, 20, reduce_zero),
    'context59_train': ('context59', CONTEXT_TRAIN, 59, reduce_zero),
    'context59_val': ('context59', CONTEXT_VAL, 59, reduce_zero),
    'coco_stuff171_train': ('coco_stuff171', COCO_TRAIN, 171, lambda x: x),
    'coco_stuff171_val': ('coco_stuff171', COCO_VAL, 171, lambda x: x),
}
MAKERS = dict(
    voc20=make_voc20,
    context59=make_context59,
    coco_stuff171=make_coco_stuff171)


@pytest.fixture(scope='module', autouse=True)
def mmseg_scope():
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny'))
    return {name: make(root) for name, make in MAKERS.items()}


def build(cfg, data_root, pipeline=PIPELINE, **kwargs):
    return DATASETS.build(
        dict(cfg, data_root=data_root, pipeline=pipeline, **kwargs))


@pytest.mark.parametrize('case', sorted(CASES))
def test_labels_after_pipeline(case, data_roots):
    generator, cfg, num_classes, expected_labels = CASES[case]
    dataset = build(cfg, data_roots[generator])
    assert len(dataset.metainfo['classes']) == num_classes
    assert tuple(dataset.metainfo['classes']) == \
        ZERO_SHOT_SPLITS[generator]['classes']
    raw_values, labels_seen = set(), set()
    for i in range(len(dataset)):
        data = dataset[i]
        seg_map_path = dataset.get_data_info(i)['seg_map_path']
        raw = np.array(Image.open(seg_map_path))
        label = data['data_samples'].gt_sem_seg.data[0].numpy()
        assert label.shape == data['inputs'].shape[1:] == raw.shape
        np.testing.assert_array_equal(label, expected_labels(raw))
        raw_values |= set(np.unique(raw).tolist())
        labels_seen |= set(np.unique(label).tolist())
    # every class of the setting occurs in every split, plus ignored pixels
    assert labels_seen == set(range(num_classes)) | {255}
    if generator != 'coco_stuff171':
        assert 0 in raw_values  # background, mapped to 255
    if case in ('voc20_train', 'voc20_val', 'coco_stuff171_train'):
        assert 255 in raw_values  # VOC void borders, COCO unlabelled


def test_voc_train_concat_with_aug(data_roots):
    """mmseg's recipe: VOC train labels plus SBD-only images from aug.txt."""
    root = data_roots['voc20']
    dataset = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(VOC_TRAIN, data_root=root, pipeline=PIPELINE),
                dict(VOC_AUG, data_root=root, pipeline=PIPELINE)
            ]))
    assert len(dataset) == 4
    with open(osp.join(root, 'ImageSets/Segmentation/trainaug.txt')) as f:
        assert len(f.read().split()) == 4


def test_voc_label_files_as_in_voc_and_sbd(data_roots):
    root = data_roots['voc20']
    name = open(osp.join(root, 'ImageSets/Segmentation/val.txt')).readline()
    name = name.strip()
    voc = Image.open(osp.join(root, 'SegmentationClass', name + '.png'))
    sbd = Image.open(osp.join(root, 'SegmentationClassAug', name + '.png'))
    assert voc.mode == 'P' and sbd.mode == 'L'
    palette = voc.getpalette()
    assert palette[3:6] == [128, 0, 0]  # aeroplane
    assert palette[3 * 255:3 * 256] == [224, 224, 192]  # void
    assert 255 not in np.unique(np.array(sbd))
    image = Image.open(osp.join(root, 'JPEGImages', name + '.jpg'))
    assert image.format == 'JPEG' and image.size == voc.size


def test_coco_train_ids_match_mmseg_converter(data_roots, tmp_path):
    """The raw stuffthingmaps we write convert, with mmseg's own converter,
    to our ``*_labelTrainIds.png``."""
    converter = osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'tools', 'dataset_converters',
        'coco_stuff164k.py')
    if not osp.isfile(converter):
        pytest.skip('mmseg converter not installed')
    spec = importlib.util.spec_from_file_location('coco_conv', converter)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    annotations = osp.join(data_roots['coco_stuff171'], 'annotations')
    os.makedirs(tmp_path / 'val2017')
    raw_files = [
        f for f in sorted(os.listdir(osp.join(annotations, 'val2017')))
        if not f.endswith('_labelTrainIds.png')
    ]
    assert raw_files
    for f in raw_files:
        module.convert_to_trainID(
            osp.join(annotations, 'val2017', f), str(tmp_path), False)
        converted = f.replace('.png', '_labelTrainIds.png')
        np.testing.assert_array_equal(
            np.array(Image.open(tmp_path / 'val2017' / converted)),
            np.array(Image.open(osp.join(annotations, 'val2017', converted))))


def test_generator_sizes_and_determinism(tmp_path):
    roots = [
        make_context59(str(tmp_path / d), num_train=4, num_val=1, seed=s)
        for d, s in (('a', 0), ('b', 0), ('c', 1))
    ]
    names = sorted(os.listdir(osp.join(roots[0], 'JPEGImages')))
    sizes = {
        Image.open(osp.join(roots[0], 'JPEGImages', n)).size
        for n in names
    }
    assert (128, 96) in sizes and len(sizes) > 1  # (w, h): non-square, varied
    for sub in ('JPEGImages', 'SegmentationClassContext'):
        same = filecmp.cmpfiles(
            osp.join(roots[0], sub),
            osp.join(roots[1], sub),
            os.listdir(osp.join(roots[0], sub)),
            shallow=False)
        assert not same[1] and not same[2]
    other = filecmp.cmpfiles(
        osp.join(roots[0], 'JPEGImages'),
        osp.join(roots[2], 'JPEGImages'),
        names,
        shallow=False)
    assert other[1]


def test_missing_data_root(tmp_path):
    missing = str(tmp_path / 'nowhere' / 'VOC2012')
    with pytest.raises(FileNotFoundError, match='data_root') as error:
        build(VOC_TRAIN, missing)
    assert missing in str(error.value)
    assert 'data/README.md' in str(error.value)


def with_prefix(cfg: dict, **prefix) -> dict:
    return dict(cfg, data_prefix=dict(cfg['data_prefix'], **prefix))


# name: (generator, dataset config, what is missing, its path in data_root)
MISSING = {
    'voc20_label_dir':
    ('voc20', with_prefix(VOC_TRAIN, seg_map_path='SegmentationClassX'),
     "data_prefix['seg_map_path']", 'SegmentationClassX'),
    'context59_image_dir': ('context59',
                            with_prefix(CONTEXT_TRAIN, img_path='JPEGImagesX'),
                            "data_prefix['img_path']", 'JPEGImagesX'),
    'context59_split_file':
    ('context59', dict(CONTEXT_TRAIN, ann_file='ImageSets/x/train.txt'),
     'split file', 'ImageSets/x/train.txt'),
    'coco_stuff171_image_dir':
    ('coco_stuff171', with_prefix(COCO_TRAIN, img_path='images/test2017'),
     "data_prefix['img_path']", 'images/test2017'),
}


@pytest.mark.parametrize('case', sorted(MISSING))
def test_missing_folder_or_split(case, data_roots):
    generator, cfg, field, path = MISSING[case]
    with pytest.raises(FileNotFoundError) as error:
        build(cfg, data_roots[generator])
    message = str(error.value)
    assert field in message
    assert osp.join(data_roots[generator], path) in message
    assert 'data/README.md' in message


def test_missing_label_files(data_roots):
    """trainaug.txt with SegmentationClassAug: one VOC train image is not in
    SBD, so it has no label there."""
    root = data_roots['voc20']
    cfg = dict(VOC_AUG, ann_file='ImageSets/Segmentation/trainaug.txt')
    with pytest.raises(FileNotFoundError, match='have no label file') as e:
        build(cfg, root)
    missing = osp.join(root, 'SegmentationClassAug', '2007_000001.png')
    assert missing in str(e.value)
    assert len(build(cfg, root, check_files=False)) == 4


def test_empty_split_and_empty_folder(tmp_path):
    root = make_context59(str(tmp_path), num_train=1, num_val=1)
    empty = osp.join(root, 'ImageSets/SegmentationContext/empty.txt')
    open(empty, 'w').close()
    with pytest.raises(ValueError, match='lists no images') as error:
        build(dict(CONTEXT_TRAIN, ann_file=empty), root)
    assert empty in str(error.value)

    os.makedirs(osp.join(root, 'empty'))
    cfg = dict(COCO_TRAIN, data_prefix=dict(img_path='empty'))
    with pytest.raises(ValueError, match="no '\\*.jpg' images found"):
        build(cfg, root)


def corrupt(path: str, how: str) -> None:
    data = open(path, 'rb').read()
    data = dict(
        truncated=data[:len(data) // 2],
        garbage=b'not an image' * 8,
        empty=b'')[how]
    with open(path, 'wb') as f:
        f.write(data)


@pytest.mark.parametrize('how', ['truncated', 'garbage', 'empty'])
@pytest.mark.parametrize('which', ['img_path', 'seg_map_path'])
def test_unreadable_file_is_named(which, how, tmp_path):
    root = make_context59(str(tmp_path), num_train=1, num_val=1)
    dataset = build(CONTEXT_TRAIN, root, pipeline=CHECKED_PIPELINE)
    path = dataset.get_data_info(0)[which]
    corrupt(path, how)
    what = 'image' if which == 'img_path' else 'label'
    with pytest.raises(ValueError, match=f'cannot read {what} ') as error:
        dataset[0]
    assert path in str(error.value)


def test_checked_transforms_registered():
    for name in ('CheckedLoadImageFromFile', 'CheckedLoadAnnotations'):
        assert TRANSFORMS.get(name) is not None


@pytest.mark.parametrize('name,num_seen,unseen', [
    ('voc20', 15, [15, 16, 17, 18, 19]),
    ('context59', 49, [0, 2, 3, 7, 9, 13, 17, 19, 31, 37]),
    ('coco_stuff171', 156,
     [19, 23, 28, 29, 36, 51, 76, 88, 94, 112, 133, 136, 137, 157, 160]),
])
def test_zero_shot_splits(name, num_seen, unseen):
    seen, got_unseen = seen_unseen(name)
    assert got_unseen == unseen
    assert len(seen) == num_seen
    num_classes = len(ZERO_SHOT_SPLITS[name]['classes'])
    assert sorted(seen + got_unseen) == list(range(num_classes))
    dataset_type = {
        'voc20': 'PascalVOC20Dataset',
        'context59': 'ZeroShotPascalContext59Dataset',
        'coco_stuff171': 'ZeroShotCOCOStuffDataset'
    }[name]
    assert ZERO_SHOT_SPLITS[name]['classes'] == tuple(
        DATASETS.get(dataset_type).METAINFO['classes'])


def test_zero_shot_split_names():
    voc = ZERO_SHOT_SPLITS['voc20']
    unseen_names = [voc['classes'][i] for i in voc['unseen']]
    assert unseen_names == [
        'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'
    ]
    with pytest.raises(KeyError, match='voc20'):
        seen_unseen('voc21')


def test_make_tiny_dataset_cli(tmp_path):
    command = [
        sys.executable,
        osp.join(REPO, 'tools', 'make_tiny_dataset.py'), 'voc20',
        str(tmp_path), '--num-train', '2', '--num-val', '1', '--size', '64',
        '80', '--seed', '3'
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True).stdout
    data_root = osp.join(str(tmp_path), 'VOCdevkit', 'VOC2012')
    assert f'data_root: {data_root}' in out
    for split in ('train', 'val', 'trainval', 'aug', 'trainaug'):
        assert osp.isfile(
            osp.join(data_root, 'ImageSets', 'Segmentation', split + '.txt'))
    image = Image.open(osp.join(data_root, 'JPEGImages', '2007_000001.jpg'))
    assert image.size == (80, 64)
    assert os.listdir(osp.join(data_root, 'SegmentationClass'))
    assert os.listdir(osp.join(data_root, 'SegmentationClassAug'))
