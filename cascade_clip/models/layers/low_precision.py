"""Frozen weights in autocast's precision, cast once instead of at every call.

Under ``torch.autocast`` every matrix product casts its float32 weight to
the low-precision dtype, and autocast keeps such a cast only for trainable
leaves and only until the autocast region ends. The frozen CLIP image
encoder therefore had its ~100 weights cast again at every forward pass:
that many kernel launches, and ~0.5 GB of memory traffic, per pass.
:func:`frozen_cast` keeps one low-precision copy of a frozen parameter and
makes it again only when the parameter changes (moved, reloaded, edited in
place). The copy is the cast autocast would make, so the products give the
same results.
"""
import weakref
from functools import partial
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def _autocast_state_per_device(device_type: str) -> Tuple[bool, torch.dtype]:
    return (torch.is_autocast_enabled(device_type),
            torch.get_autocast_dtype(device_type))


def _autocast_state_before_2_4(device_type: str) -> Tuple[bool, torch.dtype]:
    if device_type == 'cpu':
        return torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
    return torch.is_autocast_enabled(), torch.get_autocast_gpu_dtype()


def autocast_state(device_type: str = 'cuda') -> Tuple[bool, torch.dtype]:
    """Whether autocast is on for ``device_type``, and its dtype (any
    torch >= 2.1)."""
    return _AUTOCAST_STATE(device_type)


_AUTOCAST_STATE = (
    _autocast_state_per_device
    if hasattr(torch, 'get_autocast_dtype') else _autocast_state_before_2_4)


def autocast_dtype(x: Tensor) -> Optional[torch.dtype]:
    """Autocast's dtype for ``x``'s device, or ``None`` where it is off."""
    enabled, dtype = _AUTOCAST_STATE(x.device.type)
    return dtype if enabled else None


def compiling() -> bool:
    """Whether torch.compile is tracing the code that calls this."""
    compiler = getattr(torch, 'compiler', None)
    if compiler is not None and hasattr(compiler, 'is_compiling'):
        return compiler.is_compiling()
    return torch._dynamo.is_compiling()  # torch < 2.3


# (id(param), dtype, scale) -> (weak reference to param, what the copy was
# made from, the copy); an entry goes when its parameter does.
_CACHE: Dict[tuple, tuple] = {}


def frozen_cast(param: Tensor,
                dtype: torch.dtype,
                scale: float = 1.0) -> Tensor:
    """``param * scale`` in ``dtype``, kept between calls when ``param`` is
    frozen.

    A trainable parameter (or any tensor that needs a gradient) is cast
    every call, differentiably. Under ``torch.compile`` nothing is kept;
    the compiler fuses the cast itself.

    The copy is renewed when the parameter moves or its version counter
    moves (``load_state_dict``, in-place ops under ``torch.no_grad()``).
    Writes through ``param.data`` bypass that counter and go unseen: edit
    frozen weights in place only under ``torch.no_grad()``.

    Args:
        param: A parameter, usually float32.
        dtype: The dtype wanted, e.g. autocast's.
        scale: Folded into the copy (in float32, before the cast).
    """
    if param.requires_grad or compiling():
        return (param * scale if scale != 1.0 else param).to(dtype)
    if param.dtype == dtype and scale == 1.0:
        return param
    slot = (id(param), dtype, scale)
    source = (param.data_ptr(), param._version, param.device, param.dtype)
    entry = _CACHE.get(slot)
    if entry is not None and entry[0]() is param and entry[1] == source:
        return entry[2]
    # A normal tensor even inside inference_mode: it may serve training later.
    with torch.inference_mode(False), torch.no_grad():
        copy = (param.float() * scale if scale != 1.0 else param).to(dtype)
    _CACHE[slot] = (weakref.ref(param, partial(_forget, slot)), source, copy)
    return copy


def _forget(slot: tuple, ref: weakref.ref) -> None:
    entry = _CACHE.get(slot)
    if entry is not None and entry[0] is ref:
        del _CACHE[slot]


def autocast_param(param: Optional[Tensor], x: Tensor) -> Optional[Tensor]:
    """``param`` as an autocast product with ``x`` would use it: when
    autocast is on and ``param`` is frozen, its low-precision copy from
    :func:`frozen_cast`; otherwise ``param`` itself (autocast casts a
    trainable one, caching it for the autocast region)."""
    return _for_autocast(param, autocast_dtype(x))


def _for_autocast(param: Optional[Tensor],
                  dtype: Optional[torch.dtype]) -> Optional[Tensor]:
    if param is None or param.requires_grad or dtype is None:
        return param
    return frozen_cast(param, dtype)


def cast_linear(x: Tensor,
                weight: Tensor,
                bias: Optional[Tensor] = None) -> Tensor:
    """``F.linear`` with :func:`autocast_param`'s weights (autocast asked
    once for both)."""
    dtype = autocast_dtype(x)
    return F.linear(x, _for_autocast(weight, dtype),
                    _for_autocast(bias, dtype))
