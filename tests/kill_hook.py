"""A hook for tests only: kills its own process, as an outage would."""
import os
import signal

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class KillAfterIterHook(Hook):
    """SIGKILLs the process after training iteration ``iteration``."""

    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillSeedAfterIterHook(Hook):
    """SIGKILLs the process after training iteration ``iteration``, in the
    run whose random seed is ``seed`` only."""

    priority = 'LOWEST'

    def __init__(self, seed: int, iteration: int):
        self.seed = seed
        self.iteration = iteration

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.seed == self.seed and runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)
