"""What the tools and entry points share: the command line
(:mod:`.cli`), device checks (:mod:`.device`) and the image files an
inference run reads and writes (:mod:`.image_files`)."""
from .device import NoGPUError, check_device, default_device

__all__ = ['NoGPUError', 'check_device', 'default_device']
