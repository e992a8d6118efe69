"""Reading checkpoints that carry numpy data with
``torch.load(weights_only=True)``, inside a block.

From torch 2.6 ``torch.load`` defaults to ``weights_only=True``, and
mmengine 0.10.7 does not pass the argument. This project's own checkpoints
hold only tensors and plain Python data (see
:class:`~cascade_clip.engine.PlainMessageHubHook`); checkpoints of the
paper's mmseg 0.x code can carry numpy arrays in their ``meta`` (e.g. a
palette). Rather than turning ``weights_only`` off, numpy's array, scalar
and dtype types are allowed while a checkpoint is read: data types, no
code. Nothing stays changed after the block.
"""
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


def numpy_globals() -> list:
    """numpy's types that pickled arrays, scalars and dtypes refer to."""
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


@contextmanager
def checkpoint_globals() -> Iterator[None]:
    """Within the block, ``torch.load(weights_only=True)`` also accepts
    numpy's data types. torch < 2.5 has no scoped allow-list: torch 2.4's
    global one gets them (its ``torch.load`` only restricts when asked
    to), older ones need nothing."""
    scoped = getattr(torch.serialization, 'safe_globals', None)
    if scoped is not None:
        with scoped(numpy_globals()):
            yield
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(numpy_globals())
    yield


def load_weights_only(path: str, **kwargs):
    """``torch.load(path, map_location='cpu', weights_only=True)`` that also
    reads numpy data (see :func:`checkpoint_globals`)."""
    with checkpoint_globals():
        return torch.load(
            path, map_location='cpu', weights_only=True, **kwargs)
