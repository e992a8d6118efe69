"""CLIPVisionTransformer: the image encoder with deep visual prompts, at the
tiny model's sizes."""
import pytest
import torch
import torch.nn.functional as F
from module_helpers import build_part, gradients, set_fused_attn

BATCH, HEIGHT, WIDTH = 2, 48, 80  # a 3 x 5 patch grid


def test_maps_and_global_embedding_on_a_non_square_image():
    backbone = build_part('backbone').eval()
    with torch.no_grad():
        maps, global_embedding = backbone(torch.randn(BATCH, 3, HEIGHT, WIDTH))
    c = backbone.embed_dims
    assert len(maps) == len(backbone.out_indices) + 1
    for m in maps:
        assert m.shape == (BATCH, c, HEIGHT // 16, WIDTH // 16)
        assert torch.allclose(m.norm(dim=1), torch.ones(1), atol=1e-5)
    assert global_embedding.shape == (BATCH, c)
    assert torch.allclose(global_embedding.norm(dim=1), torch.ones(1))


def test_intermediate_maps_come_from_the_out_indices_blocks():
    """Each map, recomputed by hand from the output of block
    ``out_indices[k]`` (docs/method.md §2.5-2.6), and the final map from the
    last block."""
    backbone = build_part('backbone', out_indices=[2, 5, 9]).eval()
    outputs = []
    hooks = [
        block.register_forward_hook(lambda m, i, o: outputs.append(o))
        for block in backbone.transformer.resblocks
    ]
    with torch.no_grad():
        maps, global_embedding = backbone(torch.randn(1, 3, HEIGHT, WIDTH))
    for hook in hooks:
        hook.remove()
    assert len(outputs) == len(backbone.transformer.resblocks)
    patches = (HEIGHT // 16) * (WIDTH // 16)

    def as_map(tokens):
        return F.normalize(
            tokens, dim=-1).transpose(1, 2).reshape(1, -1, HEIGHT // 16,
                                                    WIDTH // 16)

    with torch.no_grad():
        for k, block in enumerate([2, 5, 9]):
            tokens = backbone.prompt_norm(outputs[block])[:, -patches:]
            expected = backbone.ln_layers[k](tokens) @ \
                backbone.proj_layers[k]
            assert torch.allclose(maps[k], as_map(expected), atol=1e-6), k
        final = backbone.ln_post(backbone.prompt_norm(outputs[-1]))
        final = final @ backbone.proj
        assert torch.allclose(maps[-1], as_map(final[:, -patches:]), atol=1e-6)
        assert torch.allclose(
            global_embedding, F.normalize(final[:, 0], dim=-1), atol=1e-6)


def test_fused_and_explicit_attention_agree():
    backbone = build_part('backbone').eval()
    image = torch.randn(BATCH, 3, HEIGHT, WIDTH)
    with torch.no_grad():
        fused_maps, fused_global = backbone(image)
        set_fused_attn(backbone, False)
        maps, global_embedding = backbone(image)
    for fused, explicit in zip(fused_maps + (fused_global, ),
                               maps + (global_embedding, )):
        assert (fused - explicit).abs().max() <= 1e-6


@pytest.mark.parametrize('freeze', [True, False])
def test_trainable_parameters_get_gradients_and_frozen_ones_none(freeze):
    backbone = build_part('backbone', freeze=freeze).train()
    maps, global_embedding = backbone(torch.randn(BATCH, 3, HEIGHT, WIDTH))
    (sum(m.sum() for m in maps) + global_embedding.sum()).backward()
    trainable = {n for n, p in backbone.named_parameters() if p.requires_grad}
    if freeze:  # the paper's training: only the prompts
        assert trainable == {
            'prompt_embeddings', 'deep_prompt_embeddings',
            'prompt_proj.weight', 'prompt_proj.bias', 'prompt_norm.weight',
            'prompt_norm.bias'
        }
    else:
        assert trainable == set(gradients(backbone))
    for name, grad in gradients(backbone).items():
        if name in trainable:
            assert grad is not None and grad.abs().sum() > 0, name
        else:
            assert grad is None, name
    # every block's own prompts reach the output
    per_block = backbone.deep_prompt_embeddings.grad.abs().sum((1, 2))
    assert per_block.shape == (backbone.prompt_depth, )
    assert (per_block > 0).all()
