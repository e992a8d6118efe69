"""Bilinear resizing as two matrix products.

``F.interpolate(x, size, mode='bilinear', align_corners=False)`` is
separable: each output row mixes two input rows, each output column two
input columns. :func:`resize_bilinear` computes it as ``R_h @ x @ R_w^T``
with the interpolation weights as small dense matrices, which gives the same
function (up to float rounding) with a backward pass of two more matrix
products instead of the scattered atomic additions of the interpolation's
backward on a GPU.
"""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

# (in_size, out_size, dtype, device, axis) -> weights; a few sizes per run
_MATRICES: Dict[tuple, Tensor] = {}
_MAX_CACHED = 64


def bilinear_matrix(in_size: int,
                    out_size: int,
                    dtype: torch.dtype,
                    device: torch.device,
                    axis: int = -2) -> Tensor:
    """``(out_size, in_size)`` weights of 1-D bilinear resizing with
    ``align_corners=False`` along ``axis`` (-2 rows, -1 columns): PyTorch's
    own, read off by resizing the identity along that axis, so that they
    are exactly the weights its kernel uses there.

    Cached, real tensors only: made while a compiler or an exporter traces
    with fake tensors (a subclass of ``Tensor``), they would be handed to
    later calls that are not traced, or traced again."""
    key = (in_size, out_size, dtype, device, axis)
    weights = _MATRICES.get(key)
    if weights is None:
        weights = _bilinear_weights(in_size, out_size, dtype, device, axis)
        if type(weights) is Tensor and len(_MATRICES) < _MAX_CACHED:
            _MATRICES[key] = weights
    return weights


def _bilinear_weights(in_size: int, out_size: int, dtype: torch.dtype,
                      device: torch.device, axis: int) -> Tensor:
    identity = torch.eye(in_size, dtype=torch.float32)[None, None]
    if axis == -2:
        weights = F.interpolate(
            identity,
            size=(out_size, in_size),
            mode='bilinear',
            align_corners=False)[0, 0]
    else:
        weights = F.interpolate(
            identity,
            size=(in_size, out_size),
            mode='bilinear',
            align_corners=False)[0, 0].t()
    return weights.to(device=device, dtype=dtype)


def resize_bilinear(x: Tensor, size: Sequence[int]) -> Tensor:
    """Bilinearly resizes the last two dimensions of ``x`` (``align_corners
    =False``) to ``size``; returns ``x`` itself when it has that size."""
    height, width = x.shape[-2:]
    out_height, out_width = (int(s) for s in size)
    if (height, width) == (out_height, out_width):
        return x
    if torch.jit.is_tracing():
        # FLOP counters (fvcore) trace the model: count the resize as the
        # interpolation it is, not as dense matrix products.
        return F.interpolate(
            x,
            size=(out_height, out_width),
            mode='bilinear',
            align_corners=False)
    # Under autocast the products run in its dtype, as a convolution would.
    dtype = x.dtype if x.is_floating_point() else torch.float32
    if height != out_height:
        x = bilinear_matrix(height, out_height, dtype, x.device) @ x
    if width != out_width:
        x = x @ bilinear_matrix(width, out_width, dtype, x.device, -1).t()
    return x
