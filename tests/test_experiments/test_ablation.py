"""tools/ablation.py: two tiny VOC variants (single decoder, direct
aggregation; the cascade, the tiny VOC config itself, runs through the
tools in many other tests), the second killed during training and resumed
by running the command again without repeating the finished run; and the
comparison's statistics (mean ± std, Welch's interval of the differences)
against a hand computation."""
import json
import math
import os
import os.path as osp
import textwrap

import pytest
from tools_helpers import (TINY, VOC_INDUCTIVE, make_workspace,
                           pythonpath_with_tests, run_tool_here)

from cascade_clip.experiments.ablation import (compare_reports, format_table,
                                               variant_labels, welch_interval)

SINGLE = osp.join(TINY, 'single-decoder_tiny_1xb2-40_voc20-64x64_inductive.py')
DIRECT = osp.join(TINY,
                  'direct-aggregation_tiny_1xb2-40_voc20-64x64_inductive.py')
VARIANTS = [SINGLE, DIRECT]
# 4 iterations, a checkpoint every 2, no validation (each run is tested)
OPTIONS = [
    '--cfg-options', 'train_cfg.max_iters=4',
    'default_hooks.checkpoint.interval=2', 'val_cfg=None',
    'val_dataloader=None', 'val_evaluator=None'
]
KEYS = ('mIoU_seen', 'mIoU_unseen', 'hIoU')


def mtimes(folder: str) -> dict:
    return {
        osp.join(d, f): os.stat(osp.join(d, f)).st_mtime_ns
        for d, _, files in os.walk(folder)
        for f in files
    }


def report(folder, summary: dict, unseen_iou: float) -> str:
    """A test report of three classes, the last one unseen."""
    path = folder / 'zero_shot_metrics.json'
    path.parent.mkdir()
    per_class = [
        dict(name=f'c{i}', index=i, split=split, IoU=iou)
        for i, (split, iou) in enumerate([('seen',
                                           1.0), ('seen',
                                                  2.0), ('unseen',
                                                         unseen_iou)])
    ]
    path.write_text(
        json.dumps(
            dict(summary=summary, per_class=per_class, unseen_classes=[2])))
    return str(path)


def killing_copy(folder: str, config: str) -> str:
    """``config`` plus a hook that kills its training after iteration 3
    (its last checkpoint: iteration 2), under the same file name, so that
    its runs go to the same variant folder."""
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, osp.basename(config))
    with open(path, 'w') as f:
        f.write(
            textwrap.dedent(f"""\
            _base_ = '{config}'
            custom_imports = dict(
                imports=['cascade_clip', 'kill_hook'],
                allow_failed_imports=False)
            custom_hooks = [
                dict(type='IterSeedHook'),
                dict(type='PlainMessageHubHook'),
                dict(type='KillAfterIterHook', iteration=3)
            ]
            """))
    return path


@pytest.fixture
def runs(tmp_path, monkeypatch, capfd):
    """tools/ablation.py runs in this process (its training and test runs
    are the real tools' own processes) twice: with the direct-aggregation
    run killed, then again."""
    root = make_workspace(str(tmp_path))
    work = osp.join(root, 'work_dirs', 'ablation')
    monkeypatch.setenv('OMP_NUM_THREADS', '1')  # see tools_helpers
    monkeypatch.setenv('PYTHONUNBUFFERED', '1')
    monkeypatch.setenv('PYTHONPATH', pythonpath_with_tests()['PYTHONPATH'])
    killing = [SINGLE, killing_copy(osp.join(root, 'killing'), DIRECT)]
    code = run_tool_here(
        ['ablation.py', *killing, '--seeds', '0', '--work-dir', work] +
        OPTIONS, root, monkeypatch)
    killed = capfd.readouterr()
    folders = [
        osp.join(work,
                 osp.splitext(osp.basename(c))[0], 'seed_0') for c in VARIANTS
    ]
    before = mtimes(folders[0])
    interrupted = sorted(os.listdir(folders[1]))
    assert run_tool_here(
        ['ablation.py', *VARIANTS, '--seeds', '0', '--work-dir', work] +
        OPTIONS, root, monkeypatch) == 0
    return dict(
        work=work,
        folders=folders,
        code=code,
        killed=killed,
        resumed=capfd.readouterr(),
        before=before,
        interrupted=interrupted)


def test_a_killed_run_resumes_and_a_finished_one_is_kept(runs):
    """... and the comparison holds every variant's test report."""
    work, folders = runs['work'], runs['folders']
    assert runs['code'] != 0
    console = osp.join(folders[1], 'train_console.log')
    # the console got the end of the killed training's output file
    assert ('direct-aggregation, seed 0: training failed (exit -9); the end '
            f'of its output ({console}') in runs['killed'].err
    assert 'iter_2.pth' in runs['interrupted']
    assert 'iter_4.pth' not in runs['interrupted']
    log = runs['resumed'].out + runs['resumed'].err
    assert 'single-decoder, seed 0: finished before' in log
    assert ('direct-aggregation, seed 0: resuming the interrupted training'
            in log)
    # the tools' output is in the run's files, appended on resuming
    with open(console) as f:
        trained = f.read()
    commands = [c for c in trained.splitlines() if c.startswith('$ ')]
    assert len(commands) == 2 and '--resume' in commands[1]
    assert 'resumed epoch: 0, iter: 2' in trained
    assert 'resumed epoch' not in log
    assert 'direct-aggregation, seed 0: mIoU(S) ' in log
    # nothing of the finished run was written again
    assert mtimes(folders[0]) == runs['before']
    with open(osp.join(work, 'ablation.json')) as f:
        result = json.load(f)
    assert [v['label'] for v in result['variants']
            ] == ['single-decoder', 'direct-aggregation']
    assert result['seeds'] == [0]
    for folder, variant in zip(folders, result['variants']):
        assert osp.isfile(osp.join(folder, 'iter_4.pth'))
        with open(osp.join(folder, 'test', 'zero_shot_metrics.json')) as f:
            summary = json.load(f)['summary']
        for key in KEYS:
            assert variant['summary'][key]['values'] == [summary[key]]
        assert osp.isfile(osp.join(osp.dirname(folder), 'multi_seed.json'))
    for difference in result['differences']:  # one run each: no interval
        assert difference['hIoU']['low'] is None
    table = open(osp.join(work, 'ablation.md')).read()
    assert table.strip() in runs['resumed'].out
    assert '| direct-aggregation | 1 |' in table and 'Welch' in table


def test_welch_interval_against_a_hand_computation():
    # a: mean 42, s^2 = (4 + 0 + 4) / 2 = 4; b: mean 54.5,
    # s^2 = (4.5^2 + 1.5^2 + 1.5^2 + 4.5^2) / 3 = 15
    # se^2 = 4/3 + 15/4 = 61/12; dof = (61/12)^2 / ((4/3)^2/2 + (15/4)^2/3)
    #      = 3721/803 = 4.6339, between the t table's rows 4 and 5:
    #      t_{0.975} = 2.7764 (4), 2.5706 (5); scipy: 2.632889 at 4.6339
    # interval: 12.5 -+ 2.632889 * 2.254625 = [6.563823, 18.436177]
    interval = welch_interval([40.0, 42.0, 44.0], [50.0, 53.0, 56.0, 59.0])
    assert interval['diff'] == pytest.approx(12.5)
    assert interval['se'] == pytest.approx(math.sqrt(61 / 12))
    assert interval['dof'] == pytest.approx(3721 / 803)
    assert 2.5706 < interval['t'] < 2.7764
    assert interval['t'] == pytest.approx(2.632889, abs=1e-6)
    assert interval['low'] == pytest.approx(6.563823, abs=1e-6)
    assert interval['high'] == pytest.approx(18.436177, abs=1e-6)
    assert (interval['n_a'], interval['n_b']) == (3, 4)
    # equal variances and sizes: dof = 2 (n - 1) = 4, t_{0.975, 4} = 2.7764
    equal = welch_interval([1.0, 2.0, 3.0], [3.0, 4.0, 5.0])
    assert equal['dof'] == pytest.approx(4.0)
    assert equal['t'] == pytest.approx(2.776445, abs=1e-6)
    assert equal['low'] == pytest.approx(2 - 2.776445 * math.sqrt(2 / 3))
    # no spread: the interval is the difference; one run: no interval
    flat = welch_interval([20.0, 20.0], [25.0, 25.0, 25.0])
    assert (flat['low'], flat['high'], flat['dof']) == (5.0, 5.0, None)
    single = welch_interval([20.0], [25.0, 26.0])
    assert single['diff'] == pytest.approx(5.5)
    assert single['low'] is single['high'] is single['se'] is None
    with pytest.raises(ValueError, match='values on both sides'):
        welch_interval([], [1.0])


def test_comparing_reports(tmp_path):
    """Mean ± std of each variant and the differences from the first, in
    the JSON and the table, from test reports written here."""

    def reports(name, hious, unseen_ious):
        return [
            report(tmp_path / f'{name}{i}',
                   dict(mIoU_seen=60.0, mIoU_unseen=u, hIoU=h, mIoU=50.0), u)
            for i, (h, u) in enumerate(zip(hious, unseen_ious))
        ]

    result = compare_reports([
        ('base', reports('a', [40.0, 42.0, 44.0], [20.0, 20.0, 20.0])),
        ('new', reports('b', [50.0, 53.0, 56.0, 59.0],
                        [25.0, 25.0, 25.0, 25.0])),
        ('one', reports('c', [41.0], [30.0])),
    ])
    assert result['baseline'] == 'base'
    assert [key for _, key in result['metrics']] == list(KEYS)
    base, new, _ = result['variants']
    assert base['summary']['hIoU']['mean'] == pytest.approx(42.0)
    assert base['summary']['hIoU']['std'] == pytest.approx(2.0)
    assert new['summary']['hIoU']['std'] == pytest.approx(math.sqrt(15))
    assert new['runs'] == [
        str(tmp_path / f'b{i}' / 'zero_shot_metrics.json') for i in range(4)
    ]
    first, second = result['differences']
    assert first['label'] == 'new'
    assert first['hIoU']['low'] == pytest.approx(6.563823, abs=1e-6)
    assert first['mIoU_unseen']['low'] == first['mIoU_unseen']['high'] == 5.0
    assert first['mIoU_seen']['diff'] == 0.0
    assert second['hIoU']['diff'] == pytest.approx(-1.0)
    assert second['hIoU']['low'] is None
    table = format_table(result)
    assert '| base | 3 | 60.00 ± 0.00 | 20.00 ± 0.00 | 42.00 ± 2.00 |' in table
    assert ('| new | +0.00 [+0.00, +0.00] | +5.00 [+5.00, +5.00] | '
            '+12.50 [+6.56, +18.44] |') in table
    assert '| one | +0.00 [n/a] | +10.00 [n/a] | -1.00 [n/a] |' in table
    assert 'Difference from base (95% interval)' in table
    assert 't_{0.975, dof}' in table and 'ddof=1' in table
    other = report(tmp_path / 'd', dict(hIoU=1.0), 1.0)
    with open(other) as f:
        classes = json.load(f)
    classes['per_class'][1]['name'] = 'another'
    with open(other, 'w') as f:
        json.dump(classes, f)
    with pytest.raises(ValueError, match='other classes'):
        compare_reports([('base', reports('e', [1.0], [1.0])),
                         ('other', [other])])
    with pytest.raises(ValueError, match='at least two variants'):
        compare_reports([('base', reports('f', [1.0], [1.0]))])


def test_variant_labels_and_bad_input(tmp_path, monkeypatch, capsys):
    assert variant_labels([*VARIANTS, VOC_INDUCTIVE]) == [
        'single-decoder', 'direct-aggregation', 'cascade-clip'
    ]
    same_method = [
        VOC_INDUCTIVE,
        osp.join(TINY, 'cascade-clip_tiny_1xb2-20_'
                 'voc20-64x64_transductive.py')
    ]
    assert variant_labels(same_method) == [
        'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive',
        'cascade-clip_tiny_1xb2-20_voc20-64x64_transductive'
    ]
    for args, message in (
        ([SINGLE, '--seeds', '0'], 'at least two configs'),
        ([SINGLE, SINGLE, '--seeds', '0'], 'two configs of the same file'),
        ([SINGLE, DIRECT, '--seeds', '0', '0'], 'seeds repeat'),
        ([
            SINGLE, DIRECT, '--seeds', '0', '--cfg-options',
            'train_cfg.max_iter=2'
        ], 'train_cfg.max_iters'),
        ([SINGLE, str(tmp_path / 'missing.py'), '--seeds', '0'], 'missing.py'),
    ):
        assert run_tool_here(['ablation.py', *args], str(tmp_path),
                             monkeypatch) != 0, args
        err = capsys.readouterr().err
        assert err.startswith('error: ') and err.count('\n') == 1, err
        assert message in err, err
    assert not os.listdir(tmp_path)  # nothing ran, nothing was written
    # --help ends with the shapes world's ablation
    assert run_tool_here(['ablation.py', '--help'], str(tmp_path),
                         monkeypatch) == 0
    assert ('configs/shapes/cascade-clip_tiny_1xb16-2k_shapes20-64x64_'
            'inductive.py\n') in capsys.readouterr().out
