from .atomic_backend import AtomicLocalBackend, write_atomic
from .distributed import finish_distributed, init_cpu_distributed
from .hooks import IterSeedHook, PlainMessageHubHook
from .optim import GroupedOptimWrapperConstructor, merge_param_groups
from .safe_load import allow_checkpoint_globals

__all__ = [
    'AtomicLocalBackend', 'IterSeedHook', 'PlainMessageHubHook',
    'GroupedOptimWrapperConstructor', 'merge_param_groups',
    'allow_checkpoint_globals', 'finish_distributed', 'init_cpu_distributed',
    'write_atomic'
]

allow_checkpoint_globals()
