"""Shared by the per-module tests: the tiny model's module configs."""
import torch
from mmseg.registry import MODELS

from cascade_clip.testing import tiny_model_config


def build_part(part: str, **overrides):
    """The tiny model's ``backbone``, ``text_encoder`` or ``decode_head``,
    seeded, with ``overrides``."""
    torch.manual_seed(0)
    cfg = dict(tiny_model_config()[part], **overrides)
    return MODELS.build(cfg)


def set_fused_attn(module: torch.nn.Module, fused: bool) -> None:
    """Switches every attention in ``module`` between
    ``F.scaled_dot_product_attention`` and the explicit softmax."""
    for child in module.modules():
        if hasattr(child, 'fused_attn'):
            child.fused_attn = fused


def gradients(module: torch.nn.Module) -> dict:
    """``name -> grad`` of every parameter (``None`` where none came)."""
    return {name: p.grad for name, p in module.named_parameters()}
