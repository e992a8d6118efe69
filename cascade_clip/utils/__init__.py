"""What the tools and entry points share: the command line
(:mod:`.cli`), device checks (:mod:`.device`), the image files an
inference run reads and writes (:mod:`.image_files`), and what every
measurement records: memory (:mod:`.memory`) and the machine
(:mod:`.machine`)."""
from .device import NoGPUError, check_device, default_device

__all__ = ['NoGPUError', 'check_device', 'default_device']
