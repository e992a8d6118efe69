"""Several configs (the variants of an ablation) trained and tested once per
seed each, and compared over the seeds.

    python -m cascade_clip.experiments.ablation BASELINE_CONFIG CONFIG
        [CONFIG ...] --seeds 0 1 2 3 4 [--work-dir DIR] [--gpus N]
        [--cfg-options k=v ...] [--shapes-world] [training options: --amp]

(``tools/ablation.py`` in a checkout.) :func:`run_ablation` runs every
variant with every seed (:func:`.runs.run_seed`) in
``<work_dir>/<config name>/seed_<seed>`` (default work dir:
``work_dirs/ablation``), seed by seed (all variants of seed 0, then of seed
1, ...: an interrupted ablation has compared as many seeds as it
finished). Running the same command again resumes it: a run whose test
report exists is not run again, an interrupted training continues with
``--resume``, a trained run is only tested. It writes ``ablation.md`` and
``ablation.json`` into the work dir (and each variant's ``multi_seed.md``
and ``multi_seed.json`` into its folder). ``--shapes-world`` first writes
the shapes world's scenes where its configs (``configs/shapes/``) read
them, ``data/shapes`` (kept if written before); the shapes world's
ablation is docs/ablation.md's.

:func:`compare` reports per variant the mean ± sample std (``ddof=1``) of
mIoU(S), mIoU(U) and hIoU over its runs, and each variant's difference from
the first variant (the baseline) with a 95% interval from Welch's t
(:func:`welch_interval`): the runs of two variants are taken as
independent samples of unequal variance (the same seed in two variants is
not a pair: the models differ, and so do their initial weights).
"""
import argparse
import math
import os.path as osp
import statistics
import sys
from typing import Callable, Dict, List, Sequence, Tuple

from ..utils.cli import ToolParser, run_tool_main
from .multi_seed import STD_NOTE, combine, write_results
from .runs import (SUMMARY_COLUMNS, add_run_options, check_seeds,
                   config_max_iters, number, parse_run_args, run_from_args,
                   run_seed, seed_work_dir, write_result)

ABLATION_COLUMNS = SUMMARY_COLUMNS[:3]  # mIoU(S), mIoU(U), hIoU
RESULT_NAME = 'ablation'  # ablation.json, ablation.md
# Where configs/shapes/ read the world (relative to the working directory).
SHAPES_ROOT = 'data/shapes'
# The end of --help: the shapes world's ablation (docs/ablation.md).
SHAPES_ABLATION = '''the shapes world's ablation (docs/ablation.md):

  python tools/ablation.py --shapes-world --seeds 0 1 2 3 4 \\
    --work-dir work_dirs/ablation_shapes \\
    configs/shapes/single-decoder_tiny_1xb16-2k_shapes20-64x64_inductive.py \\
    configs/shapes/direct-aggregation_tiny_1xb16-2k_shapes20-64x64_inductive.py \\
    configs/shapes/cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py

(python -m cascade_clip.experiments.ablation where the package is installed)'''  # noqa: E501
LEVEL = 0.95
INTERVAL_NOTE = (
    'The difference of a variant b from the first variant a is mean_b - '
    'mean_a; its 95% interval is Welch\'s: se = sqrt(s_a^2/n_a + '
    's_b^2/n_b), dof = se^4 / ((s_a^2/n_a)^2/(n_a - 1) + '
    '(s_b^2/n_b)^2/(n_b - 1)) '
    '(Welch-Satterthwaite), interval = difference ± t_{0.975, dof} * se, '
    'with s the sample std (ddof=1) and n the runs of each variant; n/a '
    'with fewer than two runs of either')


def variant_name(config: str) -> str:
    """A config's file name without ``.py``: the variant's folder."""
    return osp.splitext(osp.basename(config))[0]


def variant_labels(configs: Sequence[str]) -> List[str]:
    """Names of the variants in tables: the method of each mmseg-style
    config name (``single-decoder`` of
    ``single-decoder_tiny_1xb16-2k_...``) where these differ, else the whole
    file names."""
    names = [variant_name(c) for c in configs]
    methods = [name.split('_', 1)[0] for name in names]
    return methods if len(set(methods)) == len(methods) else names


def welch_interval(a: Sequence[float],
                   b: Sequence[float],
                   level: float = LEVEL) -> dict:
    """Difference of the means of ``b`` and ``a`` with its Welch's t
    interval.

    ``diff = mean(b) - mean(a)``; ``se = sqrt(s_a**2 / n_a + s_b**2 /
    n_b)`` with the sample variances (``ddof=1``); the degrees of freedom by
    Welch–Satterthwaite, ``dof = se**4 / ((s_a**2 / n_a)**2 / (n_a - 1) +
    (s_b**2 / n_b)**2 / (n_b - 1))``; the interval ``diff ± t * se`` with
    ``t`` the ``(1 + level) / 2`` quantile of Student's t with ``dof``
    degrees of freedom (``scipy.stats.t.ppf``).

    Args:
        a: Values of the reference (e.g. one metric of its runs).
        b: Values of the variant compared with it.
        level: Coverage of the interval.

    Returns:
        ``diff``, ``se``, ``dof``, ``t``, ``low``, ``high``, ``n_a`` and
        ``n_b``; all but ``diff`` and the counts are ``None`` when either
        side has fewer than two values. Without any spread (``se == 0``)
        the interval is ``[diff, diff]`` and ``dof`` and ``t`` are
        ``None``.

    Raises:
        ValueError: a side without values.
    """
    if not a or not b:
        raise ValueError('Welch\'s interval needs values on both sides')
    n_a, n_b = len(a), len(b)
    diff = statistics.fmean(b) - statistics.fmean(a)
    result = dict(
        diff=diff,
        se=None,
        dof=None,
        t=None,
        low=None,
        high=None,
        n_a=n_a,
        n_b=n_b)
    if n_a < 2 or n_b < 2:
        return result
    part_a = statistics.variance(a) / n_a
    part_b = statistics.variance(b) / n_b
    se = math.sqrt(part_a + part_b)
    result.update(se=se, low=diff, high=diff)
    if se == 0:
        return result
    from scipy.stats import t as student_t
    dof = (part_a + part_b)**2 / (
        part_a**2 / (n_a - 1) + part_b**2 / (n_b - 1))
    t = float(student_t.ppf((1 + level) / 2, dof))
    result.update(dof=dof, t=t, low=diff - t * se, high=diff + t * se)
    return result


def compare(variants: Sequence[Tuple[str, dict]]) -> dict:
    """Mean ± std of each variant and its difference from the first.

    Args:
        variants: ``(label, runs)`` per variant, the baseline first;
            ``runs`` is :func:`.multi_seed.combine` of the variant's test
            reports.

    Returns:
        ``variants`` (``label``, ``runs`` (the run labels), ``summary``:
        per metric ``mean``, ``std``, ``n``, ``values``), ``differences``
        (per variant after the first: ``label`` and per metric
        :func:`welch_interval` of the first variant's and its values),
        ``baseline``, ``metrics`` (the metrics every variant has, as
        ``(title, key)``), ``std`` and ``interval`` (what they are).

    Raises:
        ValueError: fewer than two variants, or variants of other classes or
            splits.
    """
    if len(variants) < 2:
        raise ValueError('an ablation compares at least two variants')
    first = variants[0][1]
    for label, runs in variants[1:]:
        if [c['name'] for c in runs['per_class']] != [
                c['name'] for c in first['per_class']
        ] or runs['unseen_classes'] != first['unseen_classes']:
            raise ValueError(f'{label} reports other classes or another '
                             f'seen/unseen split than {variants[0][0]}')
    metrics = [(title, key) for title, key in ABLATION_COLUMNS
               if all(key in runs['summary'] for _, runs in variants)]

    def present(runs: dict, key: str) -> List[float]:
        return [v for v in runs['summary'][key]['values'] if v is not None]

    return dict(
        baseline=variants[0][0],
        metrics=metrics,
        std=STD_NOTE,
        interval=INTERVAL_NOTE,
        variants=[
            dict(
                label=label,
                runs=[run['label'] for run in runs['runs']],
                summary={
                    key: runs['summary'][key]
                    for _, key in metrics
                }) for label, runs in variants
        ],
        differences=[
            dict(
                label=label,
                **{
                    key:
                    welch_interval(present(first, key), present(runs, key))
                    for _, key in metrics
                }) for label, runs in variants[1:]
        ])


def compare_reports(variants: Sequence[Tuple[str, Sequence[str]]]) -> dict:
    """:func:`compare` of variants given by their test reports
    (``(label, [zero_shot_metrics.json or its folder, ...])``)."""
    return compare([(label, combine(reports)) for label, reports in variants])


def _difference(interval: dict) -> str:
    if interval['low'] is None:
        return f'{number(interval["diff"], "+")} [n/a]'
    return (f'{number(interval["diff"], "+")} '
            f'[{number(interval["low"], "+")}, '
            f'{number(interval["high"], "+")}]')


def format_table(result: dict) -> str:
    """Markdown: mean ± std per variant, the differences from the first
    variant with their 95% intervals, every run's values, and notes."""
    titles = [title for title, _ in result['metrics']]
    keys = [key for _, key in result['metrics']]
    head = '| variant | ' + ' | '.join(titles) + ' |'
    rule = '|---' * (len(titles) + 1) + '|'
    lines = [
        '| variant | runs | ' + ' | '.join(titles) + ' |',
        '|---' * (len(titles) + 2) + '|'
    ]
    for variant in result['variants']:
        stats = [variant['summary'][k] for k in keys]
        lines.append(f'| {variant["label"]} | {len(variant["runs"])} | ' +
                     ' | '.join(f'{number(s["mean"])} ± {number(s["std"])}'
                                for s in stats) + ' |')
    lines += [
        '', f'Difference from {result["baseline"]} (95% interval):', '', head,
        rule
    ]
    for difference in result['differences']:
        lines.append(f'| {difference["label"]} | ' +
                     ' | '.join(_difference(difference[k])
                                for k in keys) + ' |')
    lines += [
        '', 'Every run:', '', '| variant | run | ' + ' | '.join(titles) + ' |',
        '|---' * (len(titles) + 2) + '|'
    ]
    for variant in result['variants']:
        for i, run in enumerate(variant['runs']):
            lines.append(f'| {variant["label"]} | {run} | ' + ' | '.join(
                number(variant['summary'][k]['values'][i])
                for k in keys) + ' |')
    lines += ['', f'{result["std"]}.', '', f'{result["interval"]}.']
    return '\n'.join(lines)


def write_ablation(result: dict, out_dir: str) -> Dict[str, str]:
    """Writes ``ablation.json`` and ``ablation.md`` into ``out_dir``."""
    return write_result(result, format_table(result), out_dir, RESULT_NAME)


def run_ablation(configs: Sequence[str],
                 seeds: Sequence[int],
                 work_dir: str = 'work_dirs/ablation',
                 gpus: int = 1,
                 cfg_options: Sequence[str] = (),
                 train_args: Sequence[str] = (),
                 python: str = sys.executable,
                 log: Callable[[str], None] = print) -> dict:
    """Trains and tests every config once per seed and compares them.

    Args:
        configs: The variants' config files, the baseline first.
        seeds: One run of every variant per seed (``randomness.seed``).
        work_dir: Variant ``c`` runs seed ``s`` in
            ``work_dir/<c's file name>/seed_<s>``.
        gpus: GPUs per run (more than one: ``torch.distributed.run``).
        cfg_options: ``key=value`` overrides for every training and test.
        train_args: Further options of the training (``--amp``, ...).
        python: Interpreter of the tools.
        log: Where progress lines go.

    Returns:
        :func:`compare` of the variants, also written to ``work_dir`` as
        ``ablation.json`` and ``ablation.md``; each variant's folder gets
        its ``multi_seed.json`` and ``multi_seed.md``
        (:func:`.multi_seed.write_results`).

    Raises:
        ValueError: fewer than two configs, two of the same file name, no
            seeds or a repeated one.
        RuntimeError: a run failed; running the same command again resumes
            the ablation.
    """
    check_seeds(seeds)
    if len(configs) < 2:
        raise ValueError('an ablation compares at least two configs, '
                         f'got {list(configs)}')
    names = [variant_name(c) for c in configs]
    if len(set(names)) != len(names):
        raise ValueError(f'two configs of the same file name: {names} (each '
                         'variant runs in WORK_DIR/<file name>)')
    labels = variant_labels(configs)
    # Load every config (and check the overrides) before the first run.
    max_iters = [config_max_iters(c, cfg_options) for c in configs]
    for seed in seeds:
        for config, name, label, iters in zip(configs, names, labels,
                                              max_iters):
            try:
                run_seed(
                    config,
                    seed,
                    seed_work_dir(osp.join(work_dir, name), seed),
                    iters,
                    gpus,
                    cfg_options,
                    train_args,
                    python,
                    log=lambda line, label=label: log(f'{label}, {line}'))
            except RuntimeError as error:
                raise RuntimeError(f'{label}, {error}') from error
    variants = []
    for name, label in zip(names, labels):
        runs = combine([
            osp.join(seed_work_dir(osp.join(work_dir, name), s), 'test')
            for s in seeds
        ], [f'seed {s}' for s in seeds])
        write_results(runs, osp.join(work_dir, name))
        variants.append((label, runs))
    result = compare(variants)
    result['configs'] = list(configs)
    result['seeds'] = list(seeds)
    paths = write_ablation(result, work_dir)
    log(format_table(result))
    log(f'written: {paths["json"]}, {paths["table"]}')
    return result


def main() -> None:
    """The command line (see the module's docstring)."""
    parser = ToolParser(
        description='Train and test several configs once per seed each, and '
        'compare them with the first',
        epilog=SHAPES_ABLATION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'configs', nargs='+', help='config files, the baseline first')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        required=True,
        help='one training run of every config per seed')
    add_run_options(parser, 'work_dirs/ablation',
                    'WORK_DIR/<config name>/seed_<seed>')
    parser.add_argument(
        '--shapes-world',
        action='store_true',
        help=f'first write the shapes world into {SHAPES_ROOT} (kept if '
        'there)')
    args, train_args = parse_run_args(parser)
    if len(args.configs) < 2:
        parser.error('give at least two configs to compare')
    if args.shapes_world:
        from ..synthetic.world import write_shapes_voc
        print(f'shapes world: {write_shapes_voc(SHAPES_ROOT)}', flush=True)
    run_from_args(run_ablation, args.configs, args, train_args)


if __name__ == '__main__':
    run_tool_main(main)
