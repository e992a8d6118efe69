"""A console a person can read: the runner's full log goes to its file in
the work dir, while the console gets what runs (config, work dir, device,
classes, parameters), progress with ETA and the evaluation tables.

Left out of the console (kept in the log file): the environment and config
dumps, the optimizer's per-parameter listing (mmengine logs a line per
parameter and option, and warns once per frozen parameter), the hook
table, mmengine's deprecation notices, and the per-class tables of the
validations before the last (their summary table stays). A caller that
prints its own tables (the demo) turns the evaluation tables off.
"""
import logging
import os.path as osp
import warnings
from contextlib import contextmanager
from typing import ContextManager, Iterator, Optional

from mmengine.hooks import Hook
from mmseg.registry import RUNNERS

from ..checkpoint.safe_globals import checkpoint_globals
from ..evaluation.zero_shot_metric import (PER_CLASS_TABLE_TITLES,
                                           SUMMARY_TABLE_TITLE)
from ..mmengine_private import (CHECKPOINT_PRINT, EnvironmentLogRunner,
                                printed_lines_dropped)

# Messages of mmengine that say nothing a person needs while a run goes.
FILE_ONLY_PREFIXES = (
    'Hooks will be executed in the following order',
    'The prefix is not set in metric class',
    '"FileClient" will be deprecated',
    '"HardDiskBackend" is the alias',
    'Exp name: ',
    CHECKPOINT_PRINT,
)


class BriefConsole(logging.Filter):
    """The filter on the console handler of a :class:`BriefConsoleRunner`'s
    logger; errors always pass.

    Args:
        tables: Show the evaluation tables (``False``: the log file only).
    """

    def __init__(self, tables: bool = True):
        super().__init__()
        self._file_only = 0
        self.tables = tables
        self.per_class_tables = True

    @contextmanager
    def file_only(self) -> Iterator[None]:
        """Sends what is logged inside the block to the log file only."""
        self._file_only += 1
        try:
            yield
        finally:
            self._file_only -= 1

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if self._file_only:
            return False
        message = record.getMessage()
        if message.startswith(FILE_ONLY_PREFIXES):
            return False
        if not self.tables and message.startswith((SUMMARY_TABLE_TITLE, ) +
                                                  PER_CLASS_TABLE_TITLES):
            return False
        if not self.per_class_tables and message.startswith(
                PER_CLASS_TABLE_TITLES):
            return False
        return True


def count_parameters(model) -> tuple:
    """``(trainable, total)`` numbers of parameters of a model."""
    total = trainable = 0
    for parameter in model.parameters():
        total += parameter.numel()
        if parameter.requires_grad:
            trainable += parameter.numel()
    return trainable, total


def _classes_line(model, evaluator_cfg) -> Optional[str]:
    names = getattr(model, 'class_names', None)
    if names is None or not hasattr(model, 'unseen_classes'):
        return None
    metrics = evaluator_cfg if isinstance(evaluator_cfg,
                                          (list, tuple)) else [evaluator_cfg]
    if any(m and m.get('class_split', True) is False for m in metrics):
        return (f'{len(names)} classes of the target dataset (no seen/unseen '
                'split)')
    unseen = [names[i] for i in model.unseen_classes]
    seen = len(model.seen_classes)
    shown = ', '.join(unseen[:8]) + (', ...' if len(unseen) > 8 else '')
    return (f'{len(names)} classes: {seen} seen, {len(unseen)} unseen' +
            (f' ({shown})' if unseen else ''))


class _ConsoleHook(Hook):
    """Writes the header of a run and shows the per-class tables of the
    last validation only."""

    priority = 'VERY_HIGH'

    def __init__(self, console: BriefConsole):
        self.console = console
        self.training = False

    def before_train(self, runner) -> None:
        self.training = True
        runner.describe_run('training')

    def after_train(self, runner) -> None:
        self.training = False

    def before_test(self, runner) -> None:
        runner.describe_run('testing')

    def before_val_epoch(self, runner) -> None:
        self.console.per_class_tables = (not self.training
                                         or runner.iter >= runner.max_iters)


@RUNNERS.register_module()
class BriefConsoleRunner(EnvironmentLogRunner):
    """mmengine's ``Runner`` with the brief console of this module; the log
    file (``<work_dir>/<timestamp>/<timestamp>.log``) keeps everything, and
    the full config is also written to ``<work_dir>/<config name>``.
    ``runner.console.tables = False`` keeps the evaluation tables off the
    console."""

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        self.console = BriefConsole()
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.addFilter(self.console)
        return logger

    def environment_log(self) -> ContextManager:
        return self.console.file_only()

    def wrap_model(self, *args, **kwargs):
        with self.console.file_only():
            return super().wrap_model(*args, **kwargs)

    def register_hooks(self, *args, **kwargs) -> None:
        # mmseg's visualization hook warns at every run that it is off (its
        # default)
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='The draw is False')
            super().register_hooks(*args, **kwargs)
        self.register_hook(_ConsoleHook(self.console))

    def build_visualizer(self, *args, **kwargs):
        # A second run in one process (the demo) gets the visualizer the
        # first made, and mmengine warns that its arguments are ignored.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                'ignore',
                message='.*has been created, the method '
                '`get_instance` should not accept')
            return super().build_visualizer(*args, **kwargs)

    def build_optim_wrapper(self, *args, **kwargs):
        # one line per parameter and option, one warning per frozen one
        with self.console.file_only():
            return super().build_optim_wrapper(*args, **kwargs)

    def resume(self, *args, **kwargs) -> None:
        # checkpoints of the paper's code may carry numpy data
        with checkpoint_globals():
            super().resume(*args, **kwargs)

    def load_checkpoint(self, *args, **kwargs):
        # mmengine prints (no logger) 'Loads checkpoint by local backend
        # from path: X' before logging 'Load checkpoint from X'
        with printed_lines_dropped([CHECKPOINT_PRINT]), checkpoint_globals():
            return super().load_checkpoint(*args, **kwargs)

    def describe_run(self, what: str) -> None:
        """Logs what runs: config, work dir and files, device, classes,
        parameters."""
        model = self.model.module if hasattr(self.model,
                                             'module') else self.model
        device = next(model.parameters()).device
        processes = (f' x {self.world_size} processes'
                     if self.world_size > 1 else '')
        trainable, total = count_parameters(model)
        config_copy = osp.join(
            self.work_dir,
            osp.basename(self.cfg.filename)
            if self.cfg.filename else f'{self.timestamp}.py')
        lines = [
            f'{what}: {self.cfg.filename or "a config given as a dict"}',
            f'work dir: {self.work_dir}',
            f'full log: {self.logger.log_file}; full config: {config_copy}',
            f'device: {device}{processes}',
        ]
        evaluator = self.cfg.get('test_evaluator' if what ==
                                 'testing' else 'val_evaluator')
        classes = _classes_line(model, evaluator)
        if classes:
            lines.append(classes)
        lines.append(f'parameters: {trainable:,} trainable of {total:,}')
        for line in lines:
            self.logger.info(line)
