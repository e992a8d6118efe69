"""A COCO-Stuff model evaluated on ADE20K-150, ADE20K-847, Pascal
Context-459 and VOC-21 through tools/test.py, each on its tiny copy in the
real layout: one all-classes report per set, every class evaluated."""
import json
import os.path as osp

import pytest
from conftest import REPO
from tools_helpers import (COCO_INDUCTIVE, results_dir, run_tools,
                           write_checkpoint)

from cascade_clip.structures.class_names import DATASET_CLASSES
from cascade_clip.testing import (make_ade20k150, make_ade20k847,
                                  make_context59, make_pascal_context459,
                                  make_voc20, write_tiny_clip)

TINY = osp.join(REPO, 'configs', 'tiny')
# class list: (tiny config, generator)
TARGETS = {
    'ade20k150': ('ade20k150', make_ade20k150),
    'ade20k847': ('ade20k847', make_ade20k847),
    'context59': ('context59', make_context59),
    'pascal_context459': ('pascal-context459', make_pascal_context459),
    'voc21': ('voc21', make_voc20),
}


def tiny_config(target: str) -> str:
    return osp.join(
        TINY, f'cascade-clip_tiny_coco-stuff171-to-{TARGETS[target][0]}-'
        '64x64.py')


@pytest.fixture(scope='module')
def evaluations(tmp_path_factory):
    """Runs the four evaluations at once; returns each one's log and
    JSON report."""
    root = str(tmp_path_factory.mktemp('cross'))
    write_tiny_clip(osp.join(root, 'clip_pretrain', 'tiny-clip.pt'))
    for _, make in TARGETS.values():
        make(osp.join(root, 'data', 'tiny'))
    checkpoint = write_checkpoint(COCO_INDUCTIVE,
                                  osp.join(root, 'coco_tiny.pth'))
    results = run_tools([(['test.py', tiny_config(t), checkpoint], root)
                         for t in TARGETS])
    out = {}
    for target, result in zip(TARGETS, results):
        folder = results_dir(root, tiny_config(target), checkpoint)
        with open(osp.join(folder, 'zero_shot_metrics.json')) as f:
            report = json.load(f)
        with open(osp.join(folder, 'per_class_iou.txt')) as f:
            report['tables'] = f.read()
        out[target] = (result.stdout + result.stderr, report)
    return out


@pytest.mark.parametrize('target', sorted(TARGETS))
def test_all_classes_report(target, evaluations):
    log, report = evaluations[target]
    classes = DATASET_CLASSES[target]
    assert 'all classes:' in log and 'seen classes:' not in log
    # the console's header says so too
    assert (f'{len(classes)} classes of the target dataset (no seen/unseen '
            'split)') in log
    assert 'mIoU(S)' not in log and 'mIoU(U)' not in log
    assert set(report['summary']) == {'aAcc', 'mIoU', 'mAcc'}
    assert [c['name'] for c in report['per_class']] == list(classes)
    assert all(c['split'] is None for c in report['per_class'])
    # Every class occurs in the tiny validation split, so each has an
    # accuracy: 16-bit labels kept their values (ADE-847: classes past 255)
    # and only the set's own ignore index was left out.
    assert [c['name'] for c in report['per_class'] if c['Acc'] is None] == []
    assert 0 <= report['summary']['aAcc'] <= 100


@pytest.mark.parametrize('target', sorted(TARGETS))
def test_the_console_stays_short_and_the_full_tables_are_in_files(
        target, evaluations, tmp_path):
    """847 classes: a console of at most ~60 lines, class names cut to 40
    characters; every class, with its full name, in per_class_iou.txt
    beside the JSON."""
    log, report = evaluations[target]
    lines = log.splitlines()
    assert len(lines) <= 60, f'{len(lines)} console lines'
    table_lines = [line for line in lines if line.startswith(('|', '+'))]
    assert table_lines and max(len(line) for line in table_lines) <= 80
    classes = DATASET_CLASSES[target]
    if len(classes) > 40:
        assert f'({len(classes)} classes: the 10 highest and 10 lowest IoU' \
            in log
    tables = report['tables']
    for name in classes:
        assert f' {name} ' in tables, name
