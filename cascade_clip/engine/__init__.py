from .atomic_backend import AtomicLocalBackend
from .distributed import finish_distributed, init_cpu_distributed
from .hooks import IterSeedHook, PlainMessageHubHook
from .optim import GroupedOptimWrapperConstructor, merge_param_groups

__all__ = [
    'AtomicLocalBackend', 'IterSeedHook', 'PlainMessageHubHook',
    'GroupedOptimWrapperConstructor', 'merge_param_groups',
    'finish_distributed', 'init_cpu_distributed'
]
