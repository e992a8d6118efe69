"""The transformer building blocks shared by CLIP's towers."""
import pytest
import torch
import torch.nn.functional as F

from cascade_clip.models.decode_heads.cascade_head import CrossAttention
from cascade_clip.models.layers import (LayerNorm, SelfAttention, Transformer,
                                        resize_grid_embedding)


@pytest.mark.parametrize('causal', [False, True])
def test_self_attention_fused_equals_explicit(causal):
    torch.manual_seed(0)
    attention = SelfAttention(32, num_heads=4).eval()
    x = torch.randn(3, 11, 32)
    fused = attention(x, causal=causal)
    attention.fused_attn = False
    explicit = attention(x, causal=causal)
    assert fused.shape == (3, 11, 32)
    assert (fused - explicit).abs().max() <= 1e-6


def test_causal_attention_ignores_later_tokens():
    torch.manual_seed(0)
    attention = SelfAttention(16, num_heads=2, fused_attn=False)
    x = torch.randn(1, 6, 16)
    later = x.clone()
    later[:, 4:] += 1.0
    out, out_later = attention(x, causal=True), attention(later, causal=True)
    assert torch.allclose(out[:, :4], out_later[:, :4], atol=1e-6)
    assert not torch.allclose(out[:, 4:], out_later[:, 4:])


def test_cross_attention_fused_equals_explicit():
    torch.manual_seed(0)
    attention = CrossAttention(32, num_heads=4).eval()
    queries, memory = torch.randn(2, 7, 32), torch.randn(2, 15, 32)
    fused = attention(queries, memory)
    attention.fused_attn = False
    explicit = attention(queries, memory)
    assert fused.shape == (2, 7, 32)
    assert (fused - explicit).abs().max() <= 1e-6


def test_attention_logits_are_the_head_mean_of_scaled_dot_products():
    torch.manual_seed(0)
    attention = CrossAttention(32, num_heads=4)
    queries, memory = torch.randn(2, 7, 32), torch.randn(2, 15, 32)
    q = attention.q(queries).reshape(2, 7, 4, 8).transpose(1, 2)
    k = attention.k(memory).reshape(2, 15, 4, 8).transpose(1, 2)
    expected = (q @ k.transpose(-2, -1) * 8**-0.5).mean(1)
    assert torch.allclose(
        attention.attention_logits(queries, memory), expected, atol=1e-6)


def test_layer_norm_of_a_bf16_input_is_the_float32_one_rounded():
    """A bfloat16 input is normalised by the kernel in float32 and rounded
    once: within one bfloat16 step of the float32 result (its affine weights
    are bfloat16 copies), where a normalisation in bfloat16 arithmetic is
    far off; a float32 input still gives the float32 LayerNorm exactly."""
    torch.manual_seed(0)
    norm = LayerNorm(64)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.2, 0.2)
    # a large common offset: in bfloat16 arithmetic x - mean loses it all
    x = (100 + torch.randn(4, 5, 64)).bfloat16()
    expected = F.layer_norm(x.float(), (64, ), norm.weight, norm.bias)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = norm(x)
        out_fp32 = norm(x.float())
    assert out.dtype == torch.bfloat16
    # one bfloat16 step of the result and of the rounded bias
    step = 2.0**-7 * (expected.abs() + norm.bias.abs())
    assert ((out.float() - expected).abs() <= step).all()
    mean = x.mean(-1, keepdim=True)
    in_bf16 = (x - mean) * torch.rsqrt(
        (x - mean).pow(2).mean(-1, keepdim=True) + 1e-5)
    exact = F.layer_norm(x.float(), (64, ))
    assert (in_bf16.float() - exact).abs().max() > 0.1
    assert out_fp32.dtype == torch.float32
    assert torch.equal(out_fp32, expected)


def test_trainable_layer_norm_under_autocast_trains_its_float32_weights():
    norm = LayerNorm(16)
    x = torch.randn(2, 3, 16).bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        norm(x).float().pow(2).sum().backward()
    assert norm.weight.grad.dtype == torch.float32
    assert norm.weight.grad.abs().sum() > 0 and norm.bias.grad is not None


def test_grid_resize_to_a_non_square_grid():
    torch.manual_seed(0)
    grid = torch.randn(16, 8)  # 4 x 4
    assert resize_grid_embedding(grid, (4, 4)) is grid
    resized = resize_grid_embedding(grid, (3, 5))
    expected = F.interpolate(
        grid.reshape(1, 4, 4, 8).permute(0, 3, 1, 2), (3, 5),
        mode='bilinear',
        align_corners=False)
    assert torch.equal(resized, expected.permute(0, 2, 3, 1).reshape(15, 8))
    with pytest.raises(ValueError, match='square'):
        resize_grid_embedding(torch.randn(15, 8), (3, 5))


def test_stochastic_depth_rises_linearly():
    blocks = Transformer(8, layers=5, heads=2, drop_path_rate=0.2).resblocks
    rates = [getattr(b.drop_path, 'drop_prob', 0.0) for b in blocks]
    assert rates == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])


@pytest.mark.parametrize('size, out', [((32, 32), (512, 512)),
                                       ((32, 43), (512, 683)),
                                       ((64, 64), (48, 80)), ((5, 7), (3, 11)),
                                       ((1, 1), (3, 3)), ((3, 5), (3, 5))])
def test_resize_bilinear_is_interpolate(size, out):
    """Two matrix products compute F.interpolate's bilinear resize
    (align_corners=False), values and gradients, up- and downsampling."""
    from cascade_clip.models.layers import resize_bilinear
    torch.manual_seed(0)
    x = torch.randn(2, 3, *size, requires_grad=True)
    ours = resize_bilinear(x, out)
    reference = F.interpolate(x, out, mode='bilinear', align_corners=False)
    assert ours.shape == reference.shape
    assert (ours - reference).abs().max() <= 1e-6
    weights = torch.randn(reference.shape)
    grad, = torch.autograd.grad((ours * weights).sum(), x)
    grad_ref, = torch.autograd.grad((reference * weights).sum(), x)
    # Each input's gradient sums ~(out/in)^2 products, in another order:
    # compared relative to the largest magnitude, as the golden README
    # compares maps.
    scale = grad_ref.abs().max()
    assert (grad - grad_ref).abs().max() <= 1e-5 * scale
    if size == out:
        assert ours is x


@pytest.mark.parametrize('quick_gelu', [True, False])
def test_the_mlp_activation(quick_gelu):
    """QuickGELU (OpenAI's CLIPs) or exact GELU (most of open_clip's):
    ``c_proj(act(c_fc(x)))``, also on the frozen low-precision path."""
    torch.manual_seed(0)
    block = Transformer(
        16, layers=1, heads=2, quick_gelu=quick_gelu).resblocks[0]
    x = torch.randn(2, 5, 16)
    fc, proj = block.mlp.c_fc, block.mlp.c_proj
    hidden = fc(x)
    act = hidden * torch.sigmoid(1.702 *
                                 hidden) if quick_gelu else F.gelu(hidden)
    assert torch.allclose(block._mlp(x), proj(act), atol=1e-6)
    block.requires_grad_(False)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = block._mlp(x.bfloat16())
    assert torch.allclose(low.float(), proj(act), atol=0.05)
