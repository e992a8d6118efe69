"""Which device to run on, checked before anything is built: that it
exists, and that it has bfloat16 arithmetic where ``--amp`` asks for it;
and whether an error was a failed allocation on it (what is free:
:mod:`.memory`)."""
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


class NoBFloat16Error(ValueError):
    """bfloat16 was asked for on a device whose hardware lacks it."""


# CPU flags (Linux's /proc/cpuinfo) that mean bfloat16 arithmetic in
# hardware: x86's AVX-512 BF16 and AMX, Arm's BF16 extension.
BFLOAT16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16', 'bf16')


def cpu_flags() -> frozenset:
    """The CPU's feature flags as Linux lists them (``flags`` on x86,
    ``Features`` on Arm); empty where /proc/cpuinfo is not there."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() in ('flags', 'Features'):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def check_bfloat16(device: Union[str, torch.device]) -> None:
    """Refuses bfloat16 autocast (``--amp``) on a device whose hardware has
    no bfloat16 arithmetic, where it would run emulated and slower than
    float32.

    Support is read from ``torch.cuda.is_bf16_supported(including_emulation
    =False)`` on a GPU (compute capability 8.0 and newer), and on a CPU
    from its flags in /proc/cpuinfo: ``avx512_bf16`` or ``amx_bf16``
    (x86), ``bf16`` (Arm).

    Raises:
        NoBFloat16Error: in one line, naming the device and what it lacks.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        if not torch.cuda.is_bf16_supported(including_emulation=False):
            name = torch.cuda.get_device_name(device)
            raise NoBFloat16Error(
                f'--amp: {name} has no bfloat16 arithmetic (compute '
                'capability 8.0 or newer has it); run in float32 (leave '
                '--amp out)')
        return
    if not cpu_flags() & set(BFLOAT16_CPU_FLAGS):
        raise NoBFloat16Error(
            '--amp: this CPU has no bfloat16 arithmetic (none of the flags '
            f'{", ".join(BFLOAT16_CPU_FLAGS)} in /proc/cpuinfo), where '
            'bfloat16 runs emulated and slower than float32; leave --amp '
            'out')
