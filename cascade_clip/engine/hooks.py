from typing import Any, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmseg.registry import HOOKS

_BUFFER_KEYS = {'log_history', 'count_history', 'max_length'}


@HOOKS.register_module()
class IterSeedHook(Hook):
    """Seeds torch's generators before every training iteration with
    ``runner.seed + iteration``.

    Dropout and stochastic depth then draw the same numbers at an iteration
    whatever ran before it (validation, a restart), so a run resumed from a
    checkpoint continues exactly as the uninterrupted run would have. Data
    order and augmentation are already replayed by mmengine's resume.
    """

    priority = 'VERY_HIGH'

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        torch.manual_seed((runner.seed + runner.iter) % 2**63)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (nested in dicts, lists, tuples) as Python
    numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _buffer_state(buffer: HistoryBuffer) -> dict:
    """The arguments that rebuild a ``HistoryBuffer``, as plain data."""
    log_history, count_history = buffer.data
    return dict(
        log_history=_plain(log_history),
        count_history=_plain(count_history),
        max_length=buffer.max_length)


@HOOKS.register_module()
class PlainMessageHubHook(Hook):
    """Keeps the message hub's state in checkpoints as plain Python data.

    mmengine pickles its ``HistoryBuffer`` objects with bound methods, which
    ``torch.load(weights_only=True)`` (the default from torch 2.6) refuses.
    Saved as lists and numbers, a checkpoint loads with ``weights_only``;
    the buffers are rebuilt when it is loaded for resuming.
    """

    priority = 'LOWEST'  # after every other hook has added its state

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not hub:
            return
        buffers = {
            key: _buffer_state(buffer)
            for key, buffer in hub['log_scalars'].items()
        }
        checkpoint['message_hub'] = dict(
            hub, log_scalars=buffers, runtime_info=_plain(hub['runtime_info']))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not hub:
            return
        hub['log_scalars'] = {
            key:
            HistoryBuffer(**value) if isinstance(value, dict)
            and set(value) == _BUFFER_KEYS else value
            for key, value in hub['log_scalars'].items()
        }
