"""One config trained and tested once per seed, reported as mean ± std.

Single runs of zero-shot segmentation swing by about a point of mIoU(U);
the paper reports averages of several runs. :func:`run_seeds` trains and
tests one run per seed with the real tools (``tools/train.py`` and
``tools/test.py``, or their ``dist_*.sh`` launchers for several GPUs), each
in ``<work_dir>/seed_<seed>``, and :func:`combine` reduces the runs'
``zero_shot_metrics.json`` to mean and standard deviation.

The standard deviation is the SAMPLE standard deviation (``ddof=1``, divided
by ``n - 1``), as papers report the spread of a few runs; it is not defined
for a single run (reported as ``None`` / ``n/a``).

Runs are resumable: a seed whose test report exists is not run again; a
seed whose training stopped (a checkpoint but not the last one) continues
with ``--resume``; a seed whose training ended but whose test did not is
only tested.

The tools' own output goes to files in each run's folder
(``train_console.log``, appended to when a training resumes, and
``test_console.log``); the console gets one line per step and, when a tool
fails, the end of its file.
"""
import glob
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

from ..evaluation.zero_shot_metric import JSON_NAME, write_json_atomic
from ..utils.atomic_files import write_atomic

SUMMARY_COLUMNS = (('mIoU(S)', 'mIoU_seen'), ('mIoU(U)', 'mIoU_unseen'),
                   ('hIoU', 'hIoU'), ('mIoU', 'mIoU'), ('pAcc', 'aAcc'))
RESULT_JSON = 'multi_seed.json'
RESULT_TABLE = 'multi_seed.md'
STD_NOTE = ('std is the sample standard deviation over the runs (ddof=1, '
            'divided by n - 1), as papers report it; n/a for one run')
# Where each run keeps its tools' console output (in the run's folder).
TRAIN_CONSOLE = 'train_console.log'
TEST_CONSOLE = 'test_console.log'
# Lines of a failed tool's console file shown on the console.
FAILURE_TAIL_LINES = 30
TOOLS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')


def seed_work_dir(work_dir: str, seed: int) -> str:
    """Where the run of ``seed`` trains: ``<work_dir>/seed_<seed>``."""
    return osp.join(work_dir, f'seed_{seed}')


def seed_report(work_dir: str, seed: int) -> str:
    """The test report of the run of ``seed``."""
    return osp.join(seed_work_dir(work_dir, seed), 'test', JSON_NAME)


def seed_state(run_dir: str, max_iters: int) -> str:
    """``'done'`` (tested), ``'trained'`` (last checkpoint, not tested),
    ``'interrupted'`` (an earlier checkpoint only) or ``'new'``."""
    if osp.isfile(osp.join(run_dir, 'test', JSON_NAME)):
        return 'done'
    if osp.isfile(osp.join(run_dir, f'iter_{max_iters}.pth')):
        return 'trained'
    if glob.glob(osp.join(run_dir, 'iter_*.pth')):
        return 'interrupted'
    return 'new'


def _tool_command(name: str, args: Sequence[str], gpus: int,
                  python: str) -> List[str]:
    """``python tools/<name>.py args`` or, for several GPUs, the torchrun
    launcher ``bash tools/dist_<name>.sh``."""
    if gpus > 1:
        # dist_train.sh CONFIG GPUS ...; dist_test.sh CONFIG CKPT GPUS ...
        fixed = 1 if name == 'train' else 2
        return (['bash', osp.join(TOOLS, f'dist_{name}.sh')] +
                list(args[:fixed]) + [str(gpus)] + list(args[fixed:]))
    return [python, osp.join(TOOLS, f'{name}.py')] + list(args)


def config_max_iters(config: str, cfg_options: Sequence[str] = ()) -> int:
    """The last iteration of ``config``'s training with the overrides
    (``key=value`` strings); loading it also checks the config and the
    overrides' keys."""
    from ..apis.model import load_config
    cfg = load_config(config, parse_cfg_options(cfg_options))
    return cfg.train_cfg.max_iters


def run_seed(config: str,
             seed: int,
             run_dir: str,
             max_iters: int,
             gpus: int = 1,
             cfg_options: Sequence[str] = (),
             train_args: Sequence[str] = (),
             python: str = sys.executable,
             log: Callable[[str], None] = print) -> str:
    """Brings the run of ``config`` with ``seed`` in ``run_dir`` to its end:
    trains it (or resumes its interrupted training) unless its last
    checkpoint exists, then tests it, unless it was tested before
    (:func:`seed_state`).

    Args:
        config: Config file.
        seed: ``randomness.seed`` of the run.
        run_dir: The run's work dir; the test goes to ``run_dir/test``.
        max_iters: The training's last iteration (:func:`config_max_iters`).
        gpus: GPUs of the run (more than one: ``dist_train.sh`` /
            ``dist_test.sh``).
        cfg_options: ``key=value`` overrides for training and testing.
        train_args: Further options of ``tools/train.py``.
        python: Interpreter of the tools.
        log: Where progress lines go.

    Returns:
        The run's test report (``zero_shot_metrics.json``).

    Raises:
        RuntimeError: the training or the test failed.
    """
    report = osp.join(run_dir, 'test', JSON_NAME)
    state = seed_state(run_dir, max_iters)
    if state == 'done':
        log(f'seed {seed}: finished before ({report}), not run again')
        return report
    seed_options = ['--cfg-options', f'randomness.seed={seed}', *cfg_options]
    checkpoint = osp.join(run_dir, f'iter_{max_iters}.pth')
    if state in ('new', 'interrupted'):
        resume = ['--resume'] if state == 'interrupted' else []
        console = osp.join(run_dir, TRAIN_CONSOLE)
        log(f'seed {seed}: ' + ('resuming the interrupted training in '
                                if resume else 'training in ') +
            f'{run_dir} (its output: {console})')
        seconds = _run(
            _tool_command('train', [
                config, '--work-dir', run_dir, *resume, *train_args,
                *seed_options
            ], gpus, python), f'seed {seed}: training', console)
        if not osp.isfile(checkpoint):
            raise RuntimeError(f'seed {seed}: training ended without its '
                               f'last checkpoint {checkpoint}; its output: '
                               f'{console}')
        log(f'seed {seed}: trained in {_duration(seconds)}')
    console = osp.join(run_dir, TEST_CONSOLE)
    log(f'seed {seed}: testing {checkpoint} (its output: {console})')
    _run(
        _tool_command('test', [
            config, checkpoint, '--work-dir',
            osp.join(run_dir, 'test'), *seed_options
        ], gpus, python), f'seed {seed}: testing', console)
    summary = read_report(report)['summary']
    log(f'seed {seed}: ' +
        ', '.join(f'{title} {_number(summary[key])}'
                  for title, key in SUMMARY_COLUMNS[:3] if key in summary))
    return report


def check_seeds(seeds: Sequence[int]) -> None:
    """Raises ``ValueError`` for no seeds or a seed given twice."""
    if not seeds:
        raise ValueError('give at least one seed')
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'seeds repeat: {list(seeds)}')


def run_seeds(config: str,
              seeds: Sequence[int],
              work_dir: Optional[str] = None,
              gpus: int = 1,
              cfg_options: Sequence[str] = (),
              train_args: Sequence[str] = (),
              python: str = sys.executable,
              log: Callable[[str], None] = print) -> dict:
    """Trains and tests ``config`` once per seed, then combines the runs.

    Args:
        config: Config file.
        seeds: One run per seed (``randomness.seed``).
        work_dir: Default ``work_dirs/<config name>_seeds``.
        gpus: GPUs per run (more than one: ``dist_train.sh`` /
            ``dist_test.sh``).
        cfg_options: ``key=value`` overrides for training and testing.
        train_args: Further options of ``tools/train.py`` (``--amp``,
            ``--load-from CKPT``, ...).
        python: Interpreter of the tools.
        log: Where progress lines go.

    Returns:
        :func:`combine` of the runs, also written to ``work_dir`` as
        ``multi_seed.json`` and ``multi_seed.md``.

    Raises:
        RuntimeError: a run failed; running the same command again resumes
            it.
    """
    check_seeds(seeds)
    max_iters = config_max_iters(config, cfg_options)
    name = osp.splitext(osp.basename(config))[0]
    work_dir = work_dir or osp.join('work_dirs', f'{name}_seeds')
    for seed in seeds:
        run_seed(config, seed, seed_work_dir(work_dir, seed), max_iters, gpus,
                 cfg_options, train_args, python, log)
    result = combine([seed_report(work_dir, s) for s in seeds],
                     [f'seed {s}' for s in seeds])
    write_results(result, work_dir)
    log(format_table(result))
    log(f'written: {osp.join(work_dir, RESULT_JSON)}, '
        f'{osp.join(work_dir, RESULT_TABLE)}')
    return result


def parse_cfg_options(options: Sequence[str]) -> dict:
    """``key=value`` strings as the tools' ``--cfg-options`` read them.

    Raises:
        ValueError: an item without ``=`` or without a key.
    """
    import argparse

    from ..utils.cli import add_cfg_options
    if not options:
        return {}
    for item in options:
        if '=' not in item or not item.split('=', 1)[0].strip():
            raise ValueError(f'--cfg-options takes key=value items (e.g. '
                             f'train_cfg.max_iters=2); got {item!r}')
    parser = argparse.ArgumentParser()
    add_cfg_options(parser)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def _run(command: List[str], what: str, console: str) -> float:
    """Runs ``command`` with its output appended to the file ``console``;
    returns the seconds it took.

    Raises:
        RuntimeError: it failed; the message holds the end of ``console``.
    """
    os.makedirs(osp.dirname(osp.abspath(console)), exist_ok=True)
    start = time.monotonic()
    with open(console, 'a') as out:
        out.write(f'$ {" ".join(command)}\n')
        out.flush()
        code = subprocess.call(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=None)
    if code != 0:
        with open(console, errors='replace') as f:
            tail = ''.join(f.readlines()[-FAILURE_TAIL_LINES:])
        raise RuntimeError(
            f'{what} failed (exit {code}); the end of its output '
            f'({console}, which begins with the command):\n{tail}'
            'Run the same command again to resume: finished runs are kept.')
    return time.monotonic() - start


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f'{minutes} min {seconds} s' if minutes else f'{seconds} s'


def _mean_std(values: Sequence[Optional[float]]) -> dict:
    """Mean and sample standard deviation of the values that are not
    ``None`` (a class absent from a run has no IoU there)."""
    present = [float(v) for v in values if v is not None]
    return dict(
        mean=statistics.fmean(present) if present else None,
        std=statistics.stdev(present) if len(present) > 1 else None,
        n=len(present),
        values=list(values))


def read_report(path: str) -> dict:
    """A ``zero_shot_metrics.json`` (or the folder holding one)."""
    if osp.isdir(path):
        path = osp.join(path, JSON_NAME)
    if not osp.isfile(path):
        raise FileNotFoundError(f'test report not found: {path}')
    import json
    with open(path) as f:
        report = json.load(f)
    for key in ('summary', 'per_class'):
        if key not in report:
            raise ValueError(f'{path} is not a test report (no "{key}")')
    return report


def combine(reports: Sequence[str],
            labels: Optional[Sequence[str]] = None) -> dict:
    """Mean ± sample std of several test reports of the same classes.

    Args:
        reports: ``zero_shot_metrics.json`` files (or folders holding one),
            e.g. of ``tools/test.py`` runs of several checkpoints.
        labels: A name per run (default: the paths).

    Returns:
        ``runs`` (label, report path, summary), ``summary`` (per metric:
        ``mean``, ``std``, ``n``, ``values``; the metrics every run has),
        ``per_class`` (``index``, ``name``, ``split`` and ``IoU`` as mean,
        std, n, values), ``unseen_classes`` and ``std`` (what std is).

    Raises:
        ValueError: the reports are of different classes or splits.
    """
    if not reports:
        raise ValueError('no test reports to combine')
    labels = list(labels or reports)
    loaded = [read_report(path) for path in reports]
    first = loaded[0]
    names = [c['name'] for c in first['per_class']]
    for path, report in zip(reports[1:], loaded[1:]):
        other = [c['name'] for c in report['per_class']]
        if other != names or report.get('unseen_classes') != first.get(
                'unseen_classes'):
            raise ValueError(f'{path} reports other classes or another '
                             f'seen/unseen split than {reports[0]}')
    keys = [
        k for k in first['summary'] if all(k in r['summary'] for r in loaded)
    ]
    return dict(
        std=STD_NOTE,
        runs=[
            dict(label=label, report=path, summary=r['summary'])
            for label, path, r in zip(labels, reports, loaded)
        ],
        summary={
            k: _mean_std([r['summary'][k] for r in loaded])
            for k in keys
        },
        per_class=[
            dict(
                index=c.get('index', i),
                name=c['name'],
                split=c.get('split'),
                IoU=_mean_std([r['per_class'][i]['IoU'] for r in loaded]))
            for i, c in enumerate(first['per_class'])
        ],
        unseen_classes=first.get('unseen_classes', []))


def _number(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


def _mean_pm_std(stats: dict) -> str:
    return f'{_number(stats["mean"])} ± {_number(stats["std"])}'


def format_table(result: dict) -> str:
    """Markdown tables: the summary metrics per run and as mean ± std, and
    the per-class IoU of the unseen classes."""
    columns = [(title, key) for title, key in SUMMARY_COLUMNS
               if key in result['summary']]
    lines = [
        '| run | ' + ' | '.join(t for t, _ in columns) + ' |',
        '|---' * (len(columns) + 1) + '|'
    ]
    for run in result['runs']:
        lines.append(f'| {run["label"]} | ' + ' | '.join(
            _number(run['summary'][k]) for _, k in columns) + ' |')
    lines.append('| mean ± std | ' + ' | '.join(
        _mean_pm_std(result['summary'][k]) for _, k in columns) + ' |')
    unseen = [c for c in result['per_class'] if c['split'] == 'unseen']
    if unseen:
        labels = [run['label'] for run in result['runs']]
        lines += [
            '', 'IoU of the unseen classes:', '',
            '| class | ' + ' | '.join(labels) + ' | mean ± std |',
            '|---' * (len(labels) + 2) + '|'
        ]
        for c in unseen:
            lines.append(f'| {c["name"]} | ' +
                         ' | '.join(_number(v) for v in c['IoU']['values']) +
                         f' | {_mean_pm_std(c["IoU"])} |')
    lines += ['', f'{len(result["runs"])} runs; {STD_NOTE}.']
    return '\n'.join(lines)


def write_results(result: dict, out_dir: str) -> Dict[str, str]:
    """Writes ``multi_seed.json`` and ``multi_seed.md`` into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(
        json=osp.join(out_dir, RESULT_JSON),
        table=osp.join(out_dir, RESULT_TABLE))
    write_json_atomic(paths['json'], result)
    write_atomic(format_table(result) + '\n', paths['table'])
    return paths
