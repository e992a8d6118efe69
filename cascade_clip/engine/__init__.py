from .atomic_backend import AtomicLocalBackend, write_atomic
from .hooks import IterSeedHook, PlainMessageHubHook
from .safe_load import allow_checkpoint_globals

__all__ = [
    'AtomicLocalBackend', 'IterSeedHook', 'PlainMessageHubHook',
    'allow_checkpoint_globals', 'write_atomic'
]

allow_checkpoint_globals()
