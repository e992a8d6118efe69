from .atomic_backend import AtomicLocalBackend, write_atomic
from .distributed import init_cpu_distributed
from .hooks import IterSeedHook, PlainMessageHubHook
from .safe_load import allow_checkpoint_globals

__all__ = [
    'AtomicLocalBackend', 'IterSeedHook', 'PlainMessageHubHook',
    'allow_checkpoint_globals', 'init_cpu_distributed', 'write_atomic'
]

allow_checkpoint_globals()
