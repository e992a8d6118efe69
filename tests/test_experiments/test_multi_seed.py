"""tools/multi_seed.py: two seeds of the tiny VOC config, the first kept
when the command runs again with both, the tools' output in files, then
mean ± std checked against a hand computation from the per-seed reports;
and combining reports of tools/test.py."""
import json
import os
import os.path as osp
import statistics

import pytest
from tools_helpers import VOC_INDUCTIVE, make_workspace, run_tool_here

from cascade_clip.experiments.multi_seed import combine, format_table
from cascade_clip.experiments.runs import run_seed, tool_command

# 4 iterations, a checkpoint every 2, no validation (each seed is tested)
OPTIONS = [
    '--cfg-options', 'train_cfg.max_iters=4',
    'default_hooks.checkpoint.interval=2', 'val_cfg=None',
    'val_dataloader=None', 'val_evaluator=None'
]
KEYS = ('mIoU_seen', 'mIoU_unseen', 'hIoU', 'mIoU', 'aAcc')


def mtimes(folder: str) -> dict:
    return {
        osp.join(d, f): os.stat(osp.join(d, f)).st_mtime_ns
        for d, _, files in os.walk(folder)
        for f in files
    }


@pytest.fixture
def runs(tmp_path, monkeypatch, capfd):
    """tools/multi_seed.py runs in this process (its training and test runs
    are the real tools' own processes) twice: with seed 0, then with seeds 0
    and 1. (A killed run resuming is tools/ablation.py's test: both tools
    bring a run to its end with the same ``run_seed``.)"""
    root = make_workspace(str(tmp_path))
    work = osp.join(root, 'work_dirs', 'seeds')
    monkeypatch.setenv('OMP_NUM_THREADS', '1')  # see tools_helpers
    monkeypatch.setenv('PYTHONUNBUFFERED', '1')
    assert run_tool_here(
        ['multi_seed.py', VOC_INDUCTIVE, '--seeds', '0', '--work-dir', work] +
        OPTIONS, root, monkeypatch) == 0
    first = capfd.readouterr()
    before = mtimes(osp.join(work, 'seed_0'))
    assert run_tool_here([
        'multi_seed.py', VOC_INDUCTIVE, '--seeds', '0', '1', '--work-dir', work
    ] + OPTIONS, root, monkeypatch) == 0
    return dict(
        work=work, first=first, resumed=capfd.readouterr(), before=before)


def test_a_finished_seed_is_kept_and_the_console_is_brief(runs):
    """...and mean ± std agree with a hand computation from the per-seed
    reports (one fixture run: each of its tool runs takes seconds)."""
    work, first, resumed = runs['work'], runs['first'], runs['resumed']
    # one seed: n/a for the std
    assert '| seed 0 |' in first.out and '± n/a' in first.out
    log = resumed.out + resumed.err
    assert 'seed 0: finished before' in log
    assert 'seed 1: training in' in log
    # the tools' output went to the runs' files; the console got one line
    # per step and the table
    for seed in (0, 1):
        folder = osp.join(work, f'seed_{seed}')
        with open(osp.join(folder, 'train_console.log')) as f:
            trained = f.read()
        assert trained.startswith('$ ') and 'Iter(train)' in trained
        with open(osp.join(folder, 'test_console.log')) as f:
            assert 'zero-shot summary' in f.read()
        assert osp.isfile(osp.join(folder, 'iter_4.pth'))
    assert 'Iter(train)' not in log and 'zero-shot summary' not in log
    assert 'seed 1: trained in' in log and 'seed 1: mIoU(S) ' in log
    assert len(resumed.out.splitlines()) < 30, resumed.out
    # nothing of seed 0 was written again
    assert mtimes(osp.join(work, 'seed_0')) == runs['before']
    check_mean_and_std(runs)


def check_mean_and_std(runs):
    work = runs['work']
    reports = []
    for seed in (0, 1):
        with open(
                osp.join(work, f'seed_{seed}', 'test',
                         'zero_shot_metrics.json')) as f:
            reports.append(json.load(f))
    with open(osp.join(work, 'multi_seed.json')) as f:
        result = json.load(f)
    assert 'sample standard deviation' in result['std']
    for key in KEYS:
        values = [r['summary'][key] for r in reports]
        assert result['summary'][key]['values'] == values
        assert result['summary'][key]['mean'] == pytest.approx(
            (values[0] + values[1]) / 2, abs=1e-9)
        # sample std of two values: |a - b| / sqrt(2)
        assert result['summary'][key]['std'] == pytest.approx(
            abs(values[0] - values[1]) / 2**0.5, abs=1e-9)
    unseen = [c for c in result['per_class'] if c['split'] == 'unseen']
    assert [c['name'] for c in unseen
            ] == ['pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor']
    for c in unseen:
        values = [r['per_class'][c['index']]['IoU'] for r in reports]
        assert c['IoU']['mean'] == pytest.approx(statistics.fmean(values))
        assert c['IoU']['std'] == pytest.approx(statistics.stdev(values))
    table = open(osp.join(work, 'multi_seed.md')).read()
    mean, std = (result['summary']['hIoU'][k] for k in ('mean', 'std'))
    assert f'{mean:.2f} ± {std:.2f}' in table
    assert '| seed 1 |' in table and 'ddof=1' in table
    assert table.strip() in runs['resumed'].out


def report(tmp_path, name, summary, ious, unseen=(2, )):
    path = tmp_path / name / 'zero_shot_metrics.json'
    path.parent.mkdir()
    per_class = [
        dict(
            name=f'c{i}',
            index=i,
            split='unseen' if i in unseen else 'seen',
            IoU=iou) for i, iou in enumerate(ious)
    ]
    path.write_text(
        json.dumps(
            dict(
                summary=summary,
                per_class=per_class,
                unseen_classes=list(unseen))))
    return str(path)


def test_combining_test_reports(tmp_path, monkeypatch, capsys):
    a = report(tmp_path, 'a', dict(mIoU=10.0, aAcc=50.0), [1.0, 2.0, 3.0])
    b = report(tmp_path, 'b', dict(mIoU=20.0, aAcc=60.0), [1.0, None, 6.0])
    c = report(tmp_path, 'c', dict(mIoU=60.0, aAcc=70.0), [1.0, 5.0, 0.0])
    result = combine([a, osp.dirname(b), c], ['a', 'b', 'c'])
    assert result['summary']['mIoU']['mean'] == pytest.approx(30.0)
    # sample std: sqrt(((10-30)^2 + (20-30)^2 + (60-30)^2) / 2)
    assert result['summary']['mIoU']['std'] == pytest.approx(700**0.5)
    assert result['per_class'][1]['IoU'] == dict(
        mean=3.5, std=pytest.approx(4.5**0.5), n=2, values=[2.0, None, 5.0])
    single = combine([a])
    assert single['summary']['aAcc'] == dict(
        mean=50.0, std=None, n=1, values=[50.0])
    assert '50.00 ± n/a' in format_table(single)
    other = report(tmp_path, 'd', dict(mIoU=1.0), [1.0, 2.0])
    with pytest.raises(ValueError, match='other classes'):
        combine([a, other])

    out = tmp_path / 'out'
    assert run_tool_here(['multi_seed.py', '--combine', a, b, c, '--out', out],
                         str(tmp_path), monkeypatch) == 0
    assert '30.00 ± 26.46' in capsys.readouterr().out
    assert json.loads((out / 'multi_seed.json').read_text())['summary'] == (
        combine([a, b, c])['summary'])


def test_a_training_that_ends_without_its_last_checkpoint_is_named(tmp_path):
    """A training tool that exits 0 without writing the last checkpoint
    (here an interpreter that runs nothing) stops the run with the
    checkpoint and the file of the tool's output named."""
    run_dir = str(tmp_path / 'seed_0')
    with pytest.raises(RuntimeError) as error:
        run_seed(
            VOC_INDUCTIVE,
            0,
            run_dir,
            max_iters=4,
            python='true',
            log=lambda line: None)
    console = osp.join(run_dir, 'train_console.log')
    assert str(error.value) == (
        'seed 0: training ended without its last checkpoint '
        f'{osp.join(run_dir, "iter_4.pth")}; its output: {console}')
    with open(console) as f:
        assert f.read().startswith('$ true ')


def test_the_runs_go_through_the_package_entry_points(monkeypatch):
    """One process (``python -m``), or one per GPU under
    ``torch.distributed.run`` with the rendezvous of the environment (as
    tools/dist_train.sh takes it)."""
    assert tool_command('train', ['c.py', '--resume'], 1, 'py') == [
        'py', '-m', 'cascade_clip.apis.train', 'c.py', '--resume'
    ]
    for name in ('NNODES', 'NODE_RANK', 'MASTER_ADDR', 'PORT'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('MASTER_PORT', '29611')
    assert tool_command('test', ['c.py', 'm.pth'], 4, 'py') == [
        'py', '-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
        '--master_addr=127.0.0.1', '--nproc_per_node=4', '--master_port=29611',
        '-m', 'cascade_clip.apis.test', 'c.py', 'm.pth', '--launcher',
        'pytorch'
    ]
