"""Replaying inference as captured CUDA graphs.

At one image at a time a GPU spends most of a forward pass waiting for the
next of several hundred small kernel launches; a captured graph launches
them all at once. :class:`CUDAGraphCache` captures a function of one tensor
once per input shape, dtype and autocast setting, and replays it after
copying the input into the captured buffer.
"""
from typing import Callable, Dict

import torch
from torch import Tensor

from ..layers import autocast_state


def _same(old: tuple, new: tuple) -> bool:
    return len(old) == len(new) and all(
        a is b if isinstance(a, Tensor) else a == b for a, b in zip(old, new))


class CUDAGraphCache:
    """Captured CUDA graphs of ``fn(x) -> Tensor``.

    ``fn`` may read, besides ``x``, only tensors that keep their storage
    between calls (parameters updated in place, cached buffers). Each call
    names what the graph depends on in ``guard``: tensors by identity (e.g.
    the cached class embeddings), other values by equality (e.g. a
    weight's ``data_ptr()``, which changes when the weights move); when one
    of them changes, the graph is captured again.

    Args:
        fn: The function to capture.
        warmup: Eager calls on a side stream before capturing, as CUDA
            graphs require.
    """

    def __init__(self, fn: Callable[[Tensor], Tensor], warmup: int = 2):
        self.fn = fn
        self.warmup = warmup
        self.graphs: Dict[tuple, tuple] = {}

    def __deepcopy__(self, memo):
        # A copy of the model gets its own, empty cache.
        import copy
        return CUDAGraphCache(copy.deepcopy(self.fn, memo), self.warmup)

    def clear(self) -> None:
        self.graphs.clear()

    def __call__(self, x: Tensor, guard: tuple) -> Tensor:
        enabled, dtype = autocast_state('cuda')
        key = (tuple(x.shape), x.dtype, x.device, enabled, dtype)
        entry = self.graphs.get(key)
        if entry is None or not _same(entry[3], guard):
            entry = self.graphs[key] = self._capture(x, guard, enabled, dtype)
        graph, static_in, static_out, _ = entry
        static_in.copy_(x)
        graph.replay()
        return static_out.clone()

    def _capture(self, x: Tensor, guard: tuple, enabled: bool,
                 dtype: torch.dtype) -> tuple:
        static_in = x.clone()
        side = torch.cuda.Stream(x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        # The autocast cast cache would keep casts made outside the graph.
        context = dict(device_type='cuda',
                       dtype=dtype,
                       enabled=enabled,
                       cache_enabled=False)
        with torch.cuda.stream(side), torch.autocast(**context):
            for _ in range(self.warmup):
                self.fn(static_in)
        torch.cuda.current_stream(x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.autocast(**context):
            static_out = self.fn(static_in)
        return graph, static_in, static_out, tuple(guard)
