"""Building blocks shared by CLIP's image and text towers.

Parameter names follow OpenAI's CLIP (``attn.in_proj_weight``, ``mlp.c_fc``,
``ln_1``...) so that its weights load without renaming.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from .low_precision import autocast_dtype, cast_linear, compiling, frozen_cast


class LayerNorm(nn.LayerNorm):
    """LayerNorm that computes in float32, also under autocast, and returns
    the input's dtype, as in OpenAI's CLIP.

    A float16 or bfloat16 input goes to the kernel as it is: the kernel
    computes the statistics and the normalisation in float32 and rounds
    once at the end, as a float32 copy of the input would, without the two
    casts and the float32 tensors in between. Its affine weights are then
    the input's dtype (a frozen LayerNorm's copies made once, see
    :func:`~.low_precision.frozen_cast`).
    """

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            if x.dtype in (torch.float16, torch.bfloat16):
                return F.layer_norm(x, self.normalized_shape,
                                    _param_as(self.weight, x.dtype),
                                    _param_as(self.bias, x.dtype), self.eps)
            out = F.layer_norm(x.float(), self.normalized_shape,
                               _param_as(self.weight, torch.float32),
                               _param_as(self.bias, torch.float32), self.eps)
        return out.to(x.dtype)


def _param_as(param: Optional[Tensor], dtype: torch.dtype) -> Optional[Tensor]:
    return None if param is None else frozen_cast(param, dtype)


# OpenAI CLIP's QuickGELU factor.
QUICK_GELU_SCALE = 1.702


class QuickGELU(nn.Module):
    """OpenAI CLIP's activation, ``x * sigmoid(1.702 x)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(QUICK_GELU_SCALE * x)


class SelfAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameters.

    Args:
        dim: Token width.
        num_heads: Number of heads; ``dim`` must be divisible by it.
        fused_attn: Use ``F.scaled_dot_product_attention``; ``False`` runs
            the explicit softmax(q k^T) v, for checking or old backends.
    """

    def __init__(self, dim: int, num_heads: int, fused_attn: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(
                f'width {dim} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.fused_attn = fused_attn
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        """Attends ``x (B, N, dim)`` to itself; ``causal`` masks the future."""
        batch, length, dim = x.shape
        qkv = cast_linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.reshape(batch, length, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if self.fused_attn:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        else:
            logits = (q * q.shape[-1]**-0.5) @ k.transpose(-2, -1)
            if causal:
                future = torch.ones(
                    length, length, dtype=torch.bool, device=x.device).triu_(1)
                logits = logits.masked_fill(future, float('-inf'))
            out = logits.softmax(dim=-1) @ v
        out = out.transpose(1, 2).reshape(batch, length, dim)
        return cast_linear(out, self.out_proj.weight, self.out_proj.bias)


class ResidualAttentionBlock(nn.Module):
    """CLIP's pre-LN transformer block with optional stochastic depth.

    ``quick_gelu``: the MLP's activation is OpenAI's QuickGELU (its CLIPs
    and open_clip's ``-quickgelu`` models); ``False``: ``nn.GELU`` (open_clip's
    other models, LAION's among them). Neither has parameters: the weights
    do not say which one a CLIP was trained with.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 drop_path: float = 0.0,
                 fused_attn: bool = True,
                 quick_gelu: bool = True):
        super().__init__()
        self.ln_1 = LayerNorm(dim)
        self.attn = SelfAttention(dim, num_heads, fused_attn)
        self.ln_2 = LayerNorm(dim)
        self.mlp = nn.Sequential()
        self.mlp.add_module('c_fc', nn.Linear(dim, dim * 4))
        self.mlp.add_module('gelu', QuickGELU() if quick_gelu else nn.GELU())
        self.mlp.add_module('c_proj', nn.Linear(dim * 4, dim))
        self.drop_path = DropPath(
            drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        x = x + self.drop_path(self.attn(self.ln_1(x), causal=causal))
        return x + self.drop_path(self._mlp(self.ln_2(x)))

    def _mlp(self, x: Tensor) -> Tensor:
        """``mlp(x)``. Frozen under autocast, as ``c_proj(silu(1.702
        c_fc(x)) / 1.702)`` with both factors folded into the weights'
        low-precision copies: the same function up to rounding, with one
        kernel for the activation (and one for its gradient) instead of
        three."""
        fc, proj = self.mlp.c_fc, self.mlp.c_proj
        dtype = autocast_dtype(x)
        if (dtype is None or not isinstance(self.mlp.gelu, QuickGELU)
                or any(p.requires_grad for p in self.mlp.parameters())
                or compiling()):
            return self.mlp(x)
        scale = QUICK_GELU_SCALE
        hidden = F.silu(
            F.linear(x, frozen_cast(fc.weight, dtype, scale),
                     frozen_cast(fc.bias, dtype, scale)))
        return F.linear(hidden, frozen_cast(proj.weight, dtype, 1 / scale),
                        frozen_cast(proj.bias, dtype))


class Transformer(nn.Module):
    """A stack of :class:`ResidualAttentionBlock` (``resblocks``).

    Args:
        width: Token width.
        layers: Number of blocks.
        heads: Attention heads per block.
        drop_path_rate: Stochastic depth of the last block; it rises
            linearly from 0 at the first.
        fused_attn: See :class:`SelfAttention`.
        quick_gelu: See :class:`ResidualAttentionBlock`.
    """

    def __init__(self,
                 width: int,
                 layers: int,
                 heads: int,
                 drop_path_rate: float = 0.0,
                 fused_attn: bool = True,
                 quick_gelu: bool = True):
        super().__init__()
        rates = [
            drop_path_rate * i / max(layers - 1, 1) for i in range(layers)
        ]
        self.resblocks = nn.ModuleList(
            ResidualAttentionBlock(width, heads, rate, fused_attn, quick_gelu)
            for rate in rates)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        for block in self.resblocks:
            x = block(x, causal=causal)
        return x


def resize_grid_embedding(grid: Tensor, size: tuple) -> Tensor:
    """Bilinearly resizes square positional embeddings to another grid.

    Args:
        grid: ``(G*G, D)`` embeddings of a ``G x G`` patch grid.
        size: The target grid ``(h, w)``.

    Returns:
        ``(h*w, D)`` embeddings.
    """
    side = int(round(int(grid.shape[0])**0.5))
    if side * side != grid.shape[0]:
        raise ValueError(f'{grid.shape[0]} positional embeddings do not form '
                         'a square grid')
    if (side, side) == tuple(size):
        return grid
    dim = grid.shape[1]
    grid = grid.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid.float(), size=tuple(size), mode='bilinear',
        align_corners=False).to(grid.dtype)
    return grid.permute(0, 2, 3, 1).reshape(-1, dim)


def init_clip_transformer(transformer: Transformer, width: int,
                          layers: int) -> None:
    """OpenAI CLIP's random initialisation of a :class:`Transformer`."""
    proj_std = (width**-0.5) * ((2 * layers)**-0.5)
    attn_std = width**-0.5
    fc_std = (2 * width)**-0.5
    for block in transformer.resblocks:
        nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
        nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
        nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
        nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)


def set_trainable(module: nn.Module, freeze: bool,
                  frozen_exclude: Optional[list]) -> None:
    """Freezes ``module`` except parameters whose name holds one of
    ``frozen_exclude``; ``freeze=False`` leaves everything trainable."""
    keep = list(frozen_exclude or [])
    for name, param in module.named_parameters():
        param.requires_grad = (not freeze) or any(k in name for k in keep)
