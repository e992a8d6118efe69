"""Which device to run on, checked before anything is built, and whether an
error was a failed allocation on it (what is free: :mod:`.memory`)."""
from typing import Union

import torch


class NoGPUError(RuntimeError):
    """A CUDA device was asked for where torch finds none (or fewer)."""


def default_device() -> str:
    """``'cuda'`` where a GPU is available, else ``'cpu'``."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def check_device(device: Union[str, torch.device]) -> torch.device:
    """``device`` as a ``torch.device``, checked to exist.

    Raises:
        NoGPUError: a CUDA device without a GPU (or a GPU index past the
            last one).
        ValueError: not a device name.
    """
    try:
        device = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f'--device {device!r} is not a device (use cpu, '
                         'cuda or cuda:N)') from err
    if device.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise NoGPUError(f'device {device}: no CUDA device (torch finds '
                             'no GPU here); use --device cpu')
        if device.index is not None and device.index >= count:
            raise NoGPUError(f'device {device}: there are {count} CUDA '
                             f'device(s), cuda:0..cuda:{count - 1}')
    return device


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an error is a failed allocation: CUDA's out-of-memory error
    (a ``RuntimeError``), the CPU allocator's ``RuntimeError`` or Python's
    ``MemoryError``."""
    if isinstance(error, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(error)
    return isinstance(error,
                      RuntimeError) and ('out of memory' in text
                                         or "can't allocate memory" in text)
