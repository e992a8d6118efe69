"""What the tools and entry points share: the command line
(:mod:`.cli`) and devices (:mod:`.device`). The files an inference run
reads and writes are :mod:`cascade_clip_runtime.files`'s."""
from .device import NoGPUError, check_device, default_device

__all__ = ['NoGPUError', 'check_device', 'default_device']
