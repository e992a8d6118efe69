"""Replaying inference as captured CUDA graphs.

At one image at a time a GPU spends most of a forward pass waiting for the
next of several hundred small kernel launches; a captured graph launches
them all at once. :class:`CUDAGraphCache` captures a function of one tensor
once per input shape, dtype and autocast setting, and replays it after
copying the input into the captured buffer.
"""
from typing import Callable, Dict

import torch
from torch import Tensor, nn

from ..layers import autocast_state


def _same(old: tuple, new: tuple) -> bool:
    return len(old) == len(new) and all(
        a is b if isinstance(a, Tensor) else a == b for a, b in zip(old, new))


def parameter_state(module: nn.Module) -> tuple:
    """Where each parameter of ``module`` is and how often it was changed
    in place: different after the weights move (``.to()``, loading into
    new tensors) or are edited in place (a graph replays the kernels with
    the storage, and the low-precision copies of frozen weights, that it
    captured; see :func:`~cascade_clip.models.layers.frozen_cast`)."""
    return tuple((p.data_ptr(), p._version) for p in module.parameters())


class CUDAGraphCache:
    """Captured CUDA graphs of ``fn(x) -> Tensor``, a function of the
    parameters of ``module`` and of ``x``.

    ``fn`` may read, besides ``x``, only tensors that keep their storage
    between calls. The graph of an input shape is captured again when the
    parameters move or change in place (:func:`parameter_state`) or when
    a value of the call's ``guard`` changes: tensors compared by identity
    (e.g. the cached class embeddings), other values by equality.

    Args:
        fn: The function to capture.
        module: The module whose parameters ``fn`` reads.
        warmup: Eager calls on a side stream before capturing, as CUDA
            graphs require.
    """

    def __init__(self,
                 fn: Callable[[Tensor], Tensor],
                 module: nn.Module,
                 warmup: int = 2):
        self.fn = fn
        self.module = module
        self.warmup = warmup
        self.graphs: Dict[tuple, tuple] = {}

    def __deepcopy__(self, memo):
        # A copy of the model gets its own, empty cache.
        import copy
        return CUDAGraphCache(
            copy.deepcopy(self.fn, memo), copy.deepcopy(self.module, memo),
            self.warmup)

    def clear(self) -> None:
        self.graphs.clear()

    def __call__(self, x: Tensor, guard: tuple = ()) -> Tensor:
        guard = tuple(guard) + parameter_state(self.module)
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
        context = dict(
            device_type='cuda',
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
