"""The one-command demo, shortened."""
import json
import os.path as osp

from PIL import Image
from tools_helpers import run_tool

from cascade_clip.apis.demo import NOTICE


def test_demo_runs_the_whole_workflow(tmp_path):
    out = tmp_path / 'demo'
    result = run_tool([
        'demo.py', '--out', out, '--iters', 4, '--num-train', 2, '--num-val',
        2
    ], str(tmp_path))
    log = result.stdout + result.stderr
    assert log.count(NOTICE) == 2  # said first and last
    assert 'RANDOM weights' in NOTICE
    for text in ('zero-shot summary:', 'mIoU(S)', 'hIoU',
                 'Open-vocabulary inference on'):
        assert text in log
    assert osp.isfile(out / 'work_dir' / 'iter_4.pth')
    with open(out / 'work_dir' / 'zero_shot_metrics.json') as f:
        assert 'hIoU' in json.load(f)['summary']
    pictures = sorted((out / 'pictures').glob('*.png'))
    assert len(pictures) == 2
    assert (out / 'iou_chart.png').stat().st_size > 0
    [overlay] = (out / 'infer').glob('*_overlay.png')
    [mask] = (out / 'infer').glob('*_mask.png')
    image = out / 'data' / 'VOCdevkit' / 'VOC2012' / 'JPEGImages' / \
        overlay.name.replace('_overlay.png', '.jpg')
    assert Image.open(overlay).size == Image.open(image).size
    assert Image.open(mask).size == Image.open(image).size
