"""Turning a config file and command-line choices into a ready config for
mmengine's ``Runner``, and running it with a console a person can read;
``tools/train.py`` and ``tools/test.py`` are thin layers over these
functions."""
import logging
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmseg.registry import RUNNERS
from torch import nn

from ..checkpoint import (check_checkpoint_file, resume_checkpoint,
                          run_from_checkpoint)
from ..config_options import load_config
from ..evaluation.zero_shot_metric import JSON_NAME
from ..utils.device import check_bfloat16, default_device
from .config_text import with_text_cache
from .console import BriefConsoleRunner
from .optim import amp_optim_wrapper_options


def _load(config: str, cfg_options: Optional[dict], launcher: str,
          work_dir: Optional[str]) -> Config:
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    if not torch.cuda.is_available():
        # NCCL needs GPUs; gloo runs the same launch on CPUs, where DDP takes
        # no device ids.
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        if cfg.get('model_wrapper_cfg'):
            cfg.model_wrapper_cfg.device_ids = None
    # Evaluations keep each image's labels, not its scores of every class
    # at full size, and take the argmax in blocks of classes (bounded memory
    # on big images; the same labels).
    if isinstance(cfg.get('model'), dict):
        cfg.model.test_cfg = dict(
            cfg.model.get('test_cfg') or {}, keep_seg_logits=False)
    return cfg


def _metrics(evaluator) -> list:
    """The metric configs of an evaluator config (one or a list)."""
    return evaluator if isinstance(evaluator, list) else [evaluator]


def _write_json_to(evaluator, work_dir: str) -> None:
    """Points the zero-shot metric(s) of an evaluator config at work_dir."""
    for metric in _metrics(evaluator):
        if metric.get(
                'type') == 'ZeroShotIoUMetric' and not metric.get('json_dir'):
            metric['json_dir'] = work_dir


def _resumed_checkpoint(cfg: Config) -> str:
    return cfg.get('load_from') or resume_checkpoint(cfg.work_dir)


def _continue_the_run(cfg: Config) -> None:
    """Sets the config's seed to the one of the run ``--resume``
    continues (a seed given on the command line that differs is replaced,
    with a warning)."""
    checkpoint = _resumed_checkpoint(cfg)
    run = run_from_checkpoint(checkpoint)
    seed = run['seed']
    randomness = dict(cfg.get('randomness') or {})
    if seed is not None:
        given = randomness.get('seed')
        if given is not None and given != seed:
            print_log(
                f'--resume continues the run of {checkpoint} with its seed '
                f'{seed}, not randomness.seed={given}',
                logger='current',
                level=logging.WARNING)
        cfg.randomness = dict(randomness, seed=seed)


def completed_run_message(cfg: Config) -> Optional[str]:
    """For a config of :func:`train_config` with ``resume``: a line saying
    that the run it continues has ended already (``None`` when there is
    training left, or nothing is resumed)."""
    max_iters = (cfg.get('train_cfg') or {}).get('max_iters')
    if not cfg.get('resume') or max_iters is None:
        return None
    checkpoint = _resumed_checkpoint(cfg)
    done = run_from_checkpoint(checkpoint)['iter'] or 0
    if done < max_iters:
        return None
    return (f'the run in {cfg.work_dir} is complete: {checkpoint} is '
            f'iteration {done} of {max_iters}; nothing '
            'to train (to train longer, raise train_cfg.max_iters and the '
            'schedule\'s end)')


def train_config(config: str,
                 work_dir: Optional[str] = None,
                 resume: bool = False,
                 amp: bool = False,
                 load_from: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 launcher: str = 'none') -> Config:
    """The config of a training run.

    Args:
        config: Config file.
        work_dir: Where logs and checkpoints go (default
            ``./work_dirs/<config name>``).
        resume: Continue from the last checkpoint in ``work_dir`` (or from
            ``load_from`` when given) the run that wrote it: its weights,
            optimizer, schedule, message hub, and its random seed, which
            mmengine would restore only after the data loader is built
            (so a resumed run without ``randomness.seed`` would draw
            another data order); the sampler then replays the data order
            and :class:`~cascade_clip.engine.IterSeedHook` the dropout.
        amp: Mixed precision: bfloat16 where the hardware has it (on a GPU
            float16 with dynamic loss scaling where it has not; on a CPU
            without bfloat16 a refusal, docs/speed.md).
        load_from: Checkpoint to start from, e.g. the inductive model for a
            transductive run; checkpoints of the paper's code are converted
            on load.
        cfg_options: Config overrides, as ``--cfg-options`` gives them.
        launcher: ``'none'``, ``'pytorch'`` (torchrun), ``'slurm'`` or
            ``'mpi'``.

    Raises:
        FileNotFoundError: the config or the checkpoint to start from is
            missing.
        NotACheckpointError: the checkpoint to start from is not one.
        NoBFloat16Error: ``amp`` on a CPU without bfloat16.
    """
    cfg = _load(config, cfg_options, launcher, work_dir)
    if load_from is not None:
        cfg.load_from = load_from
    if resume and not cfg.get('load_from') and resume_checkpoint(
            cfg.work_dir) is None:
        print_log(
            f'--resume: no checkpoint in {cfg.work_dir} to resume from; '
            'training starts from iteration 0',
            logger='current',
            level=logging.WARNING)
        resume = False
    cfg.resume = resume
    if resume:
        _continue_the_run(cfg)
    if (cfg.get('load_from') and not resume and '://' not in cfg.load_from
            and not osp.isfile(cfg.load_from)):
        raise FileNotFoundError(
            f'checkpoint to start from not found: {cfg.load_from}. A '
            'transductive config starts from its inductive sibling\'s '
            'checkpoint: train that config first, or pass --load-from.')
    if cfg.get('load_from'):
        check_checkpoint_file(cfg.load_from, '--load-from')
    if cfg.get('load_from') or resume:
        # Every weight comes from the checkpoint; CLIP's file is not needed.
        cfg.model.pretrained = None
    if amp:
        device = torch.device(default_device())
        check_bfloat16(device)
        cfg.optim_wrapper.update(amp_optim_wrapper_options(device))
    for key in ('val_evaluator', 'test_evaluator'):
        if cfg.get(key):
            _write_json_to(cfg[key], cfg.work_dir)
    return cfg


def test_work_dir(config: str, checkpoint: str) -> str:
    """Where an evaluation goes by default: ``work_dirs/<config
    name>/test_<checkpoint name>``, a folder of its own per checkpoint, so
    that it never replaces the files of the training run."""
    name = osp.splitext(osp.basename(config))[0]
    stem = osp.splitext(osp.basename(checkpoint))[0]
    return osp.join('./work_dirs', name, f'test_{stem}')


def test_config(config: str,
                checkpoint: str,
                work_dir: Optional[str] = None,
                out: Optional[str] = None,
                show: bool = False,
                show_dir: Optional[str] = None,
                wait_time: float = 2,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                overwrite: bool = False,
                amp: bool = False) -> Config:
    """The config of an evaluation run.

    The zero-shot metric prints its seen / unseen / all tables and writes
    ``zero_shot_metrics.json`` into ``work_dir``.

    Args:
        config: Config file.
        checkpoint: Weights to evaluate (this project's, or the paper's,
            converted on load).
        work_dir: Where the log and the JSON go (default:
            :func:`test_work_dir`).
        out: Folder for the predicted label PNGs.
        show: Show each prediction in a window.
        show_dir: Folder for prediction / ground-truth pictures.
        wait_time: Seconds each shown picture stays.
        cfg_options: Config overrides.
        launcher: See :func:`train_config`.
        overwrite: Replace a ``zero_shot_metrics.json`` that ``work_dir``
            holds already (by default that is refused).
        amp: Test in bfloat16 autocast (``model.test_cfg.amp``), where the
            device's hardware has bfloat16.

    Raises:
        FileNotFoundError: the config or the checkpoint is missing.
        FileExistsError: ``work_dir`` holds results and ``overwrite`` is
            false.
        NotACheckpointError: the checkpoint is not one.
    """
    check_checkpoint_file(checkpoint, 'CHECKPOINT')
    cfg = _load(config, cfg_options, launcher, work_dir
                or test_work_dir(config, checkpoint))
    results = osp.join(cfg.work_dir, JSON_NAME)
    if osp.isfile(results) and not overwrite:
        raise FileExistsError(
            f'{results} exists already (results of an earlier run): pass '
            '--overwrite to replace it, or choose another --work-dir')
    cfg.load_from = checkpoint
    cfg.model.pretrained = None
    if amp:
        check_bfloat16(default_device())
        cfg.model.test_cfg = dict(cfg.model.get('test_cfg') or {}, amp=True)
    # Only the test loop runs: a test-only config (cross-dataset) need not
    # carry a training schedule.
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator'):
        cfg[key] = None
    if not cfg.get('test_cfg'):
        cfg.test_cfg = dict(type='TestLoop')
    _write_json_to(cfg.test_evaluator, cfg.work_dir)
    if out is not None:
        os.makedirs(out, exist_ok=True)
        for metric in _metrics(cfg.test_evaluator):
            metric['output_dir'] = out
    if show or show_dir:
        hooks = cfg.setdefault('default_hooks', {})
        hook = hooks.setdefault('visualization',
                                dict(type='SegVisualizationHook'))
        hook['draw'] = True
        if show:
            hook['show'] = True
            hook['wait_time'] = wait_time
        if show_dir:
            cfg.visualizer['save_dir'] = show_dir
    return cfg


def build_runner(cfg: Config,
                 brief: bool = True,
                 tables: bool = True) -> Runner:
    """The runner of a config of :func:`train_config` or
    :func:`test_config`: the config's ``runner_type`` if it names one (as
    mmseg's tools honour it), else this project's
    :class:`~cascade_clip.engine.console.BriefConsoleRunner`.

    Args:
        cfg: The run's config.
        brief: Without a ``runner_type``: a console a person can read (see
            :mod:`cascade_clip.engine.console`): what runs, progress with
            ETA, evaluation tables; the full log, the config and the
            optimizer's parameter groups go to the work dir's files only.
            ``False``: mmengine's ``Runner`` and console (everything).
        tables: With a brief console, show the evaluation tables
            (``False``: for a caller that prints its own; they stay in the
            log file).
    """
    # the runner formats its config as text six times and more (logs, the
    # dumped config, every checkpoint): once is enough
    cfg = with_text_cache(cfg)
    if cfg.get('runner_type'):
        runner = RUNNERS.build(cfg)
    else:
        runner = (BriefConsoleRunner if brief else Runner).from_cfg(cfg)
    if isinstance(runner, BriefConsoleRunner):
        runner.console.tables = tables
    return runner


def run_train(cfg: Config,
              brief: bool = True,
              tables: bool = True) -> nn.Module:
    """Trains with a config of :func:`train_config` (console: see
    :func:`build_runner`); returns the trained model."""
    return build_runner(cfg, brief, tables).train()


def run_test(cfg: Config, brief: bool = True, tables: bool = True) -> dict:
    """Evaluates with a config of :func:`test_config` (console: see
    :func:`build_runner`); returns the metrics."""
    return build_runner(cfg, brief, tables).test()
