"""Distributed launches: on machines without GPUs, and their end."""
import torch


def init_cpu_distributed(launcher: str) -> None:
    """Starts a gloo process group for a torchrun launch without GPUs.

    mmengine's own start-up selects a CUDA device first, which fails on a
    machine without one; with the group already started it skips that.
    """
    import torch.distributed as dist
    if (launcher == 'pytorch' and not torch.cuda.is_available()
            and not dist.is_initialized()):
        dist.init_process_group(backend='gloo')


def finish_distributed() -> None:
    """Ends a launch's process group once every process is done.

    Left to interpreter exit, the group's communication threads may be torn
    down while still joinable, which aborts a process ("terminate called
    without an active exception") after its run has finished; a launcher
    then reports the whole launch as failed.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
