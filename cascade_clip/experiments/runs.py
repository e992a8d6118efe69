"""What the experiments share: one run of a config with a seed, brought to
its end by the package's training and test entry points; its test report;
the files of a result; and the experiments' command-line options.

A run trains with ``python -m cascade_clip.apis.train`` and tests with
``python -m cascade_clip.apis.test`` (for several GPUs, each through
``torch.distributed.run``), so that an installed package runs experiments
without a checkout's ``tools/``. Runs are resumable: a run whose test
report exists is not run again; a run whose training stopped (a checkpoint
but not the last one) continues with ``--resume``; a run whose training
ended but whose test did not is only tested.

The tools' own output goes to files in each run's folder
(``train_console.log``, appended to when a training resumes, and
``test_console.log``); the console gets one line per step and, when a tool
fails, the end of its file.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..evaluation.zero_shot_metric import JSON_NAME, write_json_atomic
from ..utils.atomic_files import write_atomic
from ..utils.cli import fail

# The metrics of a test report that the experiments' tables show, as
# (title, key); a run's progress line shows the first three.
SUMMARY_COLUMNS = (('mIoU(S)', 'mIoU_seen'), ('mIoU(U)', 'mIoU_unseen'),
                   ('hIoU', 'hIoU'), ('mIoU', 'mIoU'), ('pAcc', 'aAcc'))
# The entry points a run's training and test go through.
ENTRY_POINTS = dict(
    train='cascade_clip.apis.train', test='cascade_clip.apis.test')
# Where each run keeps its tools' console output (in the run's folder).
TRAIN_CONSOLE = 'train_console.log'
TEST_CONSOLE = 'test_console.log'
# Lines of a failed tool's console file shown on the console.
FAILURE_TAIL_LINES = 30


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


def tool_command(name: str, args: Sequence[str], gpus: int,
                 python: str) -> List[str]:
    """``python -m cascade_clip.apis.<name> args`` (``name``: ``'train'``
    or ``'test'``) or, for several GPUs, the same module in a process per
    GPU under ``torch.distributed.run``; several nodes take ``NNODES``,
    ``NODE_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` (or ``PORT``) from
    the environment, as ``tools/dist_train.sh`` does."""
    module = ['-m', ENTRY_POINTS[name]]
    if gpus <= 1:
        return [python, *module, *args]
    env = os.environ
    return [
        python, '-m', 'torch.distributed.run',
        f'--nnodes={env.get("NNODES", "1")}',
        f'--node_rank={env.get("NODE_RANK", "0")}',
        f'--master_addr={env.get("MASTER_ADDR", "127.0.0.1")}',
        f'--nproc_per_node={gpus}',
        f'--master_port={env.get("MASTER_PORT", env.get("PORT", "29500"))}',
        *module, *args, '--launcher', 'pytorch'
    ]


def parse_cfg_options(options: Sequence[str]) -> dict:
    """``key=value`` strings as the tools' ``--cfg-options`` read them.

    Raises:
        ValueError: an item without ``=`` or without a key.
    """
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


def config_max_iters(config: str, cfg_options: Sequence[str] = ()) -> int:
    """The last iteration of ``config``'s training with the overrides
    (``key=value`` strings); loading it also checks the config and the
    overrides' keys."""
    from ..config_options import load_config
    cfg = load_config(config, parse_cfg_options(cfg_options))
    return cfg.train_cfg.max_iters


def check_seeds(seeds: Sequence[int]) -> None:
    """Raises ``ValueError`` for no seeds or a seed given twice."""
    if not seeds:
        raise ValueError('give at least one seed')
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'seeds repeat: {list(seeds)}')


def read_report(path: str) -> dict:
    """A ``zero_shot_metrics.json`` (or the folder holding one)."""
    if osp.isdir(path):
        path = osp.join(path, JSON_NAME)
    if not osp.isfile(path):
        raise FileNotFoundError(f'test report not found: {path}')
    with open(path) as f:
        report = json.load(f)
    for key in ('summary', 'per_class'):
        if key not in report:
            raise ValueError(f'{path} is not a test report (no "{key}")')
    return report


def number(value: Optional[float], sign: str = '') -> str:
    """A metric with two decimals (``sign='+'``: always signed), or
    ``n/a``."""
    return 'n/a' if value is None else f'{value:{sign}.2f}'


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
        gpus: GPUs of the run (more than one: ``torch.distributed.run``).
        cfg_options: ``key=value`` overrides for training and testing.
        train_args: Further options of the training (``tools/train.py``'s).
        python: Interpreter of the entry points.
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
            tool_command('train', [
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
        tool_command('test', [
            config, checkpoint, '--work-dir',
            osp.join(run_dir, 'test'), *seed_options
        ], gpus, python), f'seed {seed}: testing', console)
    summary = read_report(report)['summary']
    log(f'seed {seed}: ' +
        ', '.join(f'{title} {number(summary[key])}'
                  for title, key in SUMMARY_COLUMNS[:3] if key in summary))
    return report


def _run(command: List[str], what: str, console: str) -> float:
    """Runs ``command`` with its output appended to the file ``console``;
    returns the seconds it took.

    Raises:
        RuntimeError: it failed; the message holds the end of ``console``.
    """
    os.makedirs(osp.dirname(osp.abspath(console)), exist_ok=True)
    env = dict(os.environ)
    if 'torch.distributed.run' in command:
        # one thread per process unless said otherwise: what torchrun sets
        # anyway, with a warning per process when the variables are unset
        env.setdefault('OMP_NUM_THREADS', '1')
        env.setdefault('MKL_NUM_THREADS', '1')
    start = time.monotonic()
    with open(console, 'a') as out:
        out.write(f'$ {" ".join(command)}\n')
        out.flush()
        code = subprocess.call(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=None, env=env)
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


def write_result(result: dict, table: str, out_dir: str,
                 name: str) -> Dict[str, str]:
    """Writes ``result`` as ``<name>.json`` and the Markdown ``table`` as
    ``<name>.md`` into ``out_dir``; returns their paths (``json``,
    ``table``)."""
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(
        json=osp.join(out_dir, f'{name}.json'),
        table=osp.join(out_dir, f'{name}.md'))
    write_json_atomic(paths['json'], result)
    write_atomic(table + '\n', paths['table'])
    return paths


def add_run_options(parser: argparse.ArgumentParser, work_dir: Optional[str],
                    layout: str) -> None:
    """The options of an experiment's runs: ``--work-dir`` (default
    ``work_dir``; ``layout`` says where a run goes in it), ``--gpus`` and
    ``--cfg-options`` (plain ``key=value`` strings, passed on)."""
    default = ' (default %(default)s)' if work_dir else ''
    parser.add_argument(
        '--work-dir', default=work_dir, help=f'runs go to {layout}{default}')
    parser.add_argument(
        '--gpus', type=int, default=1, help='GPUs per run (torchrun)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='config overrides key=value, for every training and test')


def parse_run_args(
        parser: argparse.ArgumentParser
) -> Tuple[argparse.Namespace, List[str]]:
    """The arguments of an experiment's command line and the options it
    does not know, which go to every training (``tools/train.py``'s)."""
    args, train_args = parser.parse_known_args()
    if args.gpus < 1:
        parser.error('--gpus must be at least 1')
    return args, train_args


def run_from_args(experiment: Callable[..., dict], configs,
                  args: argparse.Namespace, train_args: List[str]) -> dict:
    """``experiment`` (``run_seeds`` or ``run_ablation``) of ``configs`` with
    the seeds and the options of :func:`add_run_options` in ``args``; a
    failed run ends the tool with its message (the end of the run's
    output) instead of a traceback."""
    try:
        return experiment(
            configs,
            args.seeds,
            work_dir=args.work_dir,
            gpus=args.gpus,
            cfg_options=args.cfg_options,
            train_args=train_args)
    except RuntimeError as error:
        fail(str(error))
