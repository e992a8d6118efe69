"""Distributed launches on machines without GPUs."""
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
