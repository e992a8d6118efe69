"""Your own dataset, as README "Your own dataset" describes it: a folder
written here (images, label PNGs, classes.txt), trained and tested through
the real tools with the tiny copy of the template config, then used for
open-vocabulary inference; and the errors such a folder can give."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import REPO
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules
from PIL import Image
from tools_helpers import results_dir, run_tool, work_dir

from cascade_clip.testing import make_custom, write_tiny_clip

CONFIG = osp.join(REPO, 'configs', 'tiny',
                  'cascade-clip_tiny_1xb2-20_custom-64x64_inductive.py')
CLASSES = ('sky', 'grass', 'road', 'car', 'person', 'tree', 'building',
           'water')
PIPELINE = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]


@pytest.fixture(scope='module', autouse=True)
def mmseg_scope():
    register_all_modules(init_default_scope=True)


def dataset(root, classes='classes.txt', **kwargs):
    return DATASETS.build(
        dict(
            type='CustomZeroShotDataset',
            data_root=root,
            classes=classes,
            data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
            pipeline=PIPELINE,
            **kwargs))


def test_train_test_and_infer_on_your_own_folder(tmp_path, monkeypatch):
    root = str(tmp_path)
    write_tiny_clip(osp.join(root, 'clip_pretrain', 'tiny-clip.pt'))
    data_root = make_custom(
        osp.join(root, 'data', 'tiny'), class_names=CLASSES)
    with open(osp.join(data_root, 'classes.txt')) as f:
        assert f.read().split('\n')[:3] == ['sky', 'grass', 'road']

    # 4 iterations; no validation at the end, the test tool evaluates
    run_tool([
        'train.py', CONFIG, '--cfg-options', 'train_cfg.max_iters=4',
        'default_hooks.checkpoint.interval=4', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None'
    ], root)
    checkpoint = osp.join(work_dir(root, CONFIG), 'iter_4.pth')
    result = run_tool(['test.py', CONFIG, checkpoint], root)
    log = result.stdout + result.stderr
    assert 'unseen classes:' in log and 'hIoU' in log
    with open(
            osp.join(
                results_dir(root, CONFIG, checkpoint),
                'zero_shot_metrics.json')) as f:
        report = json.load(f)
    assert report['unseen_classes'] == [3, 5]  # car, tree
    assert [(c['name'], c['split']) for c in report['per_class']
            ] == [(name, 'unseen' if name in ('car', 'tree') else 'seen')
                  for name in CLASSES]
    assert all(c['Acc'] is not None for c in report['per_class'])

    # open-vocabulary inference with the trained model
    from cascade_clip.apis.inference import OpenVocabularySegmenter
    monkeypatch.chdir(root)
    segmenter = OpenVocabularySegmenter(checkpoint, device='cpu')
    image = osp.join(data_root, 'images', 'val', 'photo_0005.jpg')
    result = segmenter(image, osp.join(data_root, 'classes.txt'))
    assert result.labels.shape == np.array(Image.open(image)).shape[:2]
    assert list(result.shares) == list(CLASSES)
    assert sum(result.shares.values()) == pytest.approx(1.0)


def test_errors_name_the_file(tmp_path):
    root = make_custom(str(tmp_path))
    os.remove(osp.join(root, 'labels', 'val', 'photo_0005.png'))
    with pytest.raises(
            FileNotFoundError,
            match='1 of 2 samples .* have no label file') as error:
        dataset(root)
    assert osp.join(root, 'labels', 'val',
                    'photo_0005.png') in str(error.value)

    root = make_custom(str(tmp_path / 'b'))
    path = osp.join(root, 'labels', 'val', 'photo_0006.png')
    label = np.array(Image.open(path))
    label[:2] = 8  # one past the last class
    Image.fromarray(label).save(path)
    with pytest.raises(ValueError, match=r'holds values \[8\]') as error:
        dataset(root)[1]
    assert path in str(error.value)

    with open(osp.join(root, 'classes.txt'), 'a') as f:
        f.write('sky\n')
    with pytest.raises(ValueError, match=r"lists \['sky'\] more than once"):
        dataset(root)
    with pytest.raises(
            FileNotFoundError, match='class name file not found') as error:
        dataset(root, classes='nowhere.txt')
    assert osp.join(root, 'nowhere.txt') in str(error.value)
