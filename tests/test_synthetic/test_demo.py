"""The one-command demo, shortened (tests/test_synthetic/test_learning.py
checks that the full mechanism learns)."""
import json
import os.path as osp

from PIL import Image
from tools_helpers import run_tool


def test_demo_runs_the_whole_workflow(tmp_path):
    out = tmp_path / 'demo'
    result = run_tool([
        'demo.py', '--out', out, '--iters', 4, '--num-train', 8, '--num-val',
        4, '--num-pictures', 2
    ], str(tmp_path))
    log = result.stdout + result.stderr
    for text in ('synthetic world', 'mIoU(S)', 'hIoU',
                 'control: random unseen embeddings', 'yellow cross'):
        assert text in log
    # a quiet console: its own tables once, the runs' tables in their logs
    assert len(log.splitlines()) < 80, log
    assert log.count('control: random unseen embeddings') == 1
    for noise in ('zero-shot summary', 'unseen classes:', 'Config:', 'Warning',
                  'paramwise_options'):
        assert noise not in log, noise
    assert osp.isfile(out / 'work_dir' / 'iter_4.pth')
    with open(out / 'work_dir' / 'test' / 'zero_shot_metrics.json') as f:
        trained = json.load(f)
    with open(out / 'control' / 'zero_shot_metrics.json') as f:
        control = json.load(f)
    assert 'hIoU' in trained['summary'] and 'hIoU' in control['summary']
    assert trained['unseen_classes'] == [0, 5, 10, 15, 16]
    pictures = sorted((out / 'pictures').glob('*.png'))
    assert len(pictures) == 2
    assert (out / 'iou_chart.png').stat().st_size > 0
    [overlay] = (out / 'infer').glob('*_overlay.png')
    [mask] = (out / 'infer').glob('*_mask.png')
    image = out / 'data' / 'VOCdevkit' / 'VOC2012' / 'JPEGImages' / \
        overlay.name.replace('_overlay.png', '.jpg')
    assert Image.open(mask).size == Image.open(image).size
    # the legend beside the small image: the overlay is wider
    width, height = Image.open(image).size
    assert Image.open(overlay).size[0] > width
    assert Image.open(overlay).size[1] >= height
