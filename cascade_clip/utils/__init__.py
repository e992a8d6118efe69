"""What the tools and entry points share: the command line
(:mod:`.cli`), devices (:mod:`.device`), and what every measurement
records: memory (:mod:`.memory`) and the machine (:mod:`.machine`). The
files an inference run reads and writes are
:mod:`cascade_clip_runtime.files`'s."""
from .device import NoGPUError, check_device, default_device

__all__ = ['NoGPUError', 'check_device', 'default_device']
