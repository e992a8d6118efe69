"""Low-precision copies of frozen weights under autocast."""
import torch
import torch.nn.functional as F
from module_helpers import build_part
from torch.profiler import ProfilerActivity, profile

from cascade_clip.models.layers import (ResidualAttentionBlock, SelfAttention,
                                        frozen_cast, set_trainable)

BF16 = torch.bfloat16


def frozen(module):
    set_trainable(module, True, [])
    return module


def test_a_frozen_parameter_is_cast_once_until_it_changes():
    param = torch.nn.Parameter(torch.randn(8, 4), requires_grad=False)
    copy = frozen_cast(param, BF16)
    assert copy.dtype == BF16 and torch.equal(copy, param.to(BF16))
    assert frozen_cast(param, BF16) is copy
    with torch.no_grad():
        param.add_(1)  # an in-place edit, as load_state_dict makes
    changed = frozen_cast(param, BF16)
    assert changed is not copy and torch.equal(changed, param.to(BF16))
    scaled = frozen_cast(param, BF16, 2.0)
    assert torch.equal(scaled, (2 * param).to(BF16))
    assert frozen_cast(param, torch.float32) is param


def test_a_trainable_parameter_is_cast_every_call_with_its_gradient():
    param = torch.nn.Parameter(torch.randn(8, 4))
    first, second = frozen_cast(param, BF16), frozen_cast(param, BF16)
    assert first is not second
    (first.float().sum() + 3 * frozen_cast(param, BF16, 2.0).sum()).backward()
    assert torch.equal(param.grad, torch.full((8, 4), 7.0))


def test_a_copy_made_in_inference_mode_serves_training_later():
    param = torch.nn.Parameter(torch.randn(8, 4), requires_grad=False)
    with torch.inference_mode():
        copy = frozen_cast(param, BF16)
    assert not copy.is_inference()
    x = torch.randn(3, 4, requires_grad=True)
    F.linear(x.to(BF16), frozen_cast(param, BF16)).float().sum().backward()
    assert x.grad is not None


def test_frozen_products_under_autocast_equal_autocasts_own_casts():
    torch.manual_seed(0)
    attention = SelfAttention(32, 4)
    x = torch.randn(2, 7, 32)
    with torch.no_grad(), torch.autocast('cpu', dtype=BF16):
        trainable = attention(x)  # autocast casts the weights
        frozen(attention)
        cached = attention(x)
    assert cached.dtype == BF16
    assert torch.equal(cached, trainable)


def test_folded_mlp_is_quick_gelu_up_to_bf16_rounding():
    torch.manual_seed(0)
    block = frozen(ResidualAttentionBlock(32, 4))
    x = torch.randn(2, 7, 32)
    expected = block.mlp(x)
    with torch.no_grad(), torch.autocast('cpu', dtype=BF16):
        unfolded = block.mlp(x)
        folded = block._mlp(x)
    assert folded.dtype == BF16
    assert not torch.equal(folded, unfolded)  # the folded path ran
    scale = expected.abs().max()
    assert (folded.float() - expected).abs().max() < 2e-2 * scale
    assert (unfolded.float() - expected).abs().max() < 2e-2 * scale
    # without autocast the float32 path is untouched
    assert torch.equal(block._mlp(x), expected)


def _casts(module, x):
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        module(x)
    return sum(1 for event in prof.events() if event.name == 'aten::_to_copy')


def test_frozen_encoder_casts_its_weights_only_at_the_first_pass():
    backbone = build_part('backbone').eval()
    img = torch.randn(1, 3, 32, 32)
    with torch.no_grad(), torch.autocast('cpu', dtype=BF16):
        first = _casts(backbone, img)
        second = _casts(backbone, img)
        third = _casts(backbone, img)
    blocks = len(backbone.transformer.resblocks)
    # per block: 4 weight matrices and 4 biases, cast at the first pass only
    assert first - second >= 8 * blocks
    assert second == third
