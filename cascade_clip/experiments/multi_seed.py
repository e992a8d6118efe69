"""One config trained and tested once per seed, reported as mean ± std.

    python -m cascade_clip.experiments.multi_seed CONFIG --seeds 0 1 2
        [--work-dir DIR] [--gpus N] [--cfg-options k=v ...]
        [training options: --amp, --load-from CKPT]
    python -m cascade_clip.experiments.multi_seed --combine REPORT ...
        [--out DIR]

(``tools/multi_seed.py`` in a checkout.) Single runs of zero-shot
segmentation swing by about a point of mIoU(U); the paper reports averages
of several runs. :func:`run_seeds` trains and tests one run per seed
(:func:`.runs.run_seed`: resumable, the tools' output in files), each in
``<work_dir>/seed_<seed>`` (default work dir:
``work_dirs/<config name>_seeds``), and :func:`combine` reduces the runs'
``zero_shot_metrics.json`` (or those of ``tools/test.py`` runs of several
checkpoints, ``--combine``) to mean and standard deviation: the table and
JSON (``multi_seed.md``, ``multi_seed.json``) give mIoU(S), mIoU(U), hIoU,
mIoU and pAcc per run and as mean ± std, and the per-class IoU of the
unseen classes.

The standard deviation is the SAMPLE standard deviation (``ddof=1``, divided
by ``n - 1``), as papers report the spread of a few runs; it is not defined
for a single run (reported as ``None`` / ``n/a``).
"""
import os.path as osp
import statistics
import sys
from typing import Callable, Dict, Optional, Sequence

from ..utils.cli import ToolParser, run_tool_main
from .runs import (SUMMARY_COLUMNS, add_run_options, check_seeds,
                   config_max_iters, number, parse_run_args, read_report,
                   run_from_args, run_seed, seed_report, seed_work_dir,
                   write_result)

RESULT_NAME = 'multi_seed'  # multi_seed.json, multi_seed.md
STD_NOTE = ('std is the sample standard deviation over the runs (ddof=1, '
            'divided by n - 1), as papers report it; n/a for one run')


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
        gpus: GPUs per run (more than one: ``torch.distributed.run``).
        cfg_options: ``key=value`` overrides for training and testing.
        train_args: Further options of the training (``--amp``,
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
    paths = write_results(result, work_dir)
    log(format_table(result))
    log(f'written: {paths["json"]}, {paths["table"]}')
    return result


def _mean_std(values: Sequence[Optional[float]]) -> dict:
    """Mean and sample standard deviation of the values that are not
    ``None`` (a class absent from a run has no IoU there)."""
    present = [float(v) for v in values if v is not None]
    return dict(
        mean=statistics.fmean(present) if present else None,
        std=statistics.stdev(present) if len(present) > 1 else None,
        n=len(present),
        values=list(values))


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


def _mean_pm_std(stats: dict) -> str:
    return f'{number(stats["mean"])} ± {number(stats["std"])}'


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
        lines.append(f'| {run["label"]} | ' +
                     ' | '.join(number(run['summary'][k])
                                for _, k in columns) + ' |')
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
                         ' | '.join(number(v) for v in c['IoU']['values']) +
                         f' | {_mean_pm_std(c["IoU"])} |')
    lines += ['', f'{len(result["runs"])} runs; {STD_NOTE}.']
    return '\n'.join(lines)


def write_results(result: dict, out_dir: str) -> Dict[str, str]:
    """Writes ``multi_seed.json`` and ``multi_seed.md`` into ``out_dir``."""
    return write_result(result, format_table(result), out_dir, RESULT_NAME)


def main() -> None:
    """The command line (see the module's docstring)."""
    parser = ToolParser(
        description='Mean ± std over seeds (or over test reports)')
    parser.add_argument('config', nargs='?', help='config file path')
    parser.add_argument(
        '--seeds', type=int, nargs='+', help='one training run per seed')
    add_run_options(parser, None, 'WORK_DIR/seed_<seed>')
    parser.add_argument(
        '--combine',
        nargs='+',
        metavar='REPORT',
        help='zero_shot_metrics.json files (or their folders) to combine '
        'instead of training')
    parser.add_argument(
        '--out', help='with --combine: folder for the table and JSON')
    args, train_args = parse_run_args(parser)
    if args.combine:
        if args.config or args.seeds or train_args:
            parser.error('--combine takes only test reports (and --out)')
        result = combine(args.combine)
        print(format_table(result))
        if args.out:
            paths = write_results(result, args.out)
            print(f'written: {paths["json"]}, {paths["table"]}')
        return
    if not args.config or not args.seeds:
        parser.error('give CONFIG and --seeds (or --combine REPORT ...)')
    run_from_args(run_seeds, args.config, args, train_args)


if __name__ == '__main__':
    run_tool_main(main)
