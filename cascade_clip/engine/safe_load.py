"""Lets ``torch.load(weights_only=True)`` read checkpoints that carry numpy
data.

From torch 2.6 ``torch.load`` defaults to ``weights_only=True`` and mmengine
0.10.7 does not pass the argument. This project's own checkpoints hold only
tensors and plain Python data (see :class:`PlainMessageHubHook`); checkpoints
of the paper's mmseg 0.x code can carry numpy arrays in their ``meta`` (e.g. a
palette). Rather than turning ``weights_only`` off, numpy's array, scalar
and dtype types are added to torch's allow-list: data types, no code.
"""
import numpy as np
import torch

_ALLOWED = []


def _numpy_globals() -> list:
    core = getattr(np, '_core', None) or np.core
    allowed = [
        np.ndarray, np.dtype, core.multiarray._reconstruct,
        core.multiarray.scalar
    ]
    # numpy >= 1.25 pickles dtypes as instances of these classes
    allowed.extend(
        getattr(np.dtypes, name) for name in dir(np.dtypes)
        if name.endswith('DType'))
    return allowed


def allow_checkpoint_globals() -> None:
    """Adds numpy's data types to torch's safe globals (once; nothing to do
    on torch < 2.4, whose ``torch.load`` does not restrict)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None or _ALLOWED:
        return
    _ALLOWED.extend(_numpy_globals())
    add(_ALLOWED)
