"""CLIPTextTransformer: OpenAI CLIP's text encoder, at the tiny model's
sizes."""
import pytest
import torch
from module_helpers import build_part, gradients, set_fused_attn

from cascade_clip.models.text_encoders import CLIPTextTransformer
from cascade_clip.testing import write_tiny_clip


def tokens_with_end_at(position: int, length: int = 77) -> torch.Tensor:
    """Random tokens with the end-of-text token (the vocabulary's largest
    id) at ``position`` and padding after it."""
    tokens = torch.zeros(2, length, dtype=torch.long)
    tokens[:, :position] = torch.randint(1, 49000, (2, position))
    tokens[:, position] = 49407
    return tokens


def test_features_are_the_end_of_text_tokens():
    torch.manual_seed(0)
    encoder = build_part('text_encoder').eval()
    tokens = tokens_with_end_at(5)
    with torch.no_grad():
        features = encoder(tokens)
        assert features.shape == (2, encoder.embed_dims)
        # causal: tokens after the end of the text change nothing ...
        after = tokens.clone()
        after[:, 9] = 123
        assert torch.allclose(encoder(after), features, atol=1e-6)
        # ... tokens before it do
        before = tokens.clone()
        before[:, 2] += 1
        assert not torch.allclose(encoder(before), features)
        assert encoder.encode(['a cat', 'a photo of a dog'
                               ]).shape == (2, encoder.embed_dims)


def test_fused_and_explicit_attention_agree():
    encoder = build_part('text_encoder').eval()
    tokens = tokens_with_end_at(7)
    with torch.no_grad():
        fused = encoder(tokens)
        set_fused_attn(encoder, False)
        explicit = encoder(tokens)
    assert (fused - explicit).abs().max() <= 1e-6


@pytest.mark.parametrize('freeze', [True, False])
def test_trainable_parameters_get_gradients_and_frozen_ones_none(freeze):
    encoder = build_part('text_encoder', freeze=freeze).train()
    trainable = {n for n, p in encoder.named_parameters() if p.requires_grad}
    # the paper freezes the whole text encoder
    assert trainable == (set() if freeze else set(gradients(encoder)))
    features = encoder(tokens_with_end_at(6))
    if not freeze:
        features.sum().backward()
    for name, grad in gradients(encoder).items():
        if name in trainable:
            assert grad is not None and grad.abs().sum() > 0, name
        else:
            assert grad is None, name


def test_built_from_a_clip_file_with_its_sizes(tmp_path):
    path = str(tmp_path / 'clip.pt')
    weights = write_tiny_clip(path, text_width=64, text_layers=3)
    encoder = CLIPTextTransformer.from_clip_weights(path, heads=4)
    assert len(encoder.transformer.resblocks) == 3
    assert encoder.embed_dims == weights['text_projection'].shape[1]
    assert torch.equal(encoder.text_projection,
                       weights['text_projection'].float())
