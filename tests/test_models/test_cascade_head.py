"""CascadeHead: relationship queries, NGA, one decoder per stage, summed
masks (docs/method.md §4), at the tiny model's sizes."""
import math

import pytest
import torch
import torch.nn.functional as F
from module_helpers import build_part, gradients, set_fused_attn

BATCH, CLASSES, H, W = 2, 7, 3, 5  # a non-square patch grid


def head_inputs(head, batch=BATCH, seed=0):
    generator = torch.Generator().manual_seed(seed)
    c = head.embed_dims
    maps = tuple(
        F.normalize(torch.randn(batch, c, H, W, generator=generator), dim=1)
        for _ in range(7))
    global_embedding = F.normalize(
        torch.randn(batch, c, generator=generator), dim=1)
    text = F.normalize(torch.randn(CLASSES, c, generator=generator), dim=1)
    return (maps, global_embedding), text


def test_masks_of_every_class_at_img_size():
    head = build_part('decode_head').eval()
    inputs, text = head_inputs(head)
    with torch.no_grad():
        masks = head(inputs, text)
    assert head.embed_dims == 32
    assert masks.shape == (BATCH, CLASSES, *head.img_size)
    single = build_part('decode_head', stages=[[6]]).eval()
    with torch.no_grad():
        assert single(inputs, text).shape == masks.shape


def test_nga_weights_start_as_gaussians_of_the_distance():
    head = build_part('decode_head')
    expected = [math.exp(-0.5 * d**2) for d in (2, 1, 0)]
    assert len(head.nga_weights) == 2  # the two fused stages
    for weights in head.nga_weights:
        assert torch.allclose(weights, torch.tensor(expected))


def test_the_sum_of_the_stage_decoders():
    """Each stage alone (the others' maps zeroed out of the sum) adds up to
    the cascade: the masks are a sum, not a chain."""
    head = build_part('decode_head').eval()
    inputs, text = head_inputs(head)
    with torch.no_grad():
        full = head(inputs, text)
        alone = []
        for s in range(len(head.stages)):
            other = build_part('decode_head', stages=[head.stages[s]]).eval()
            state = {
                k.replace(f'q_projs.{s}.', 'q_projs.0.').replace(
                    f'decoders.{s}.', 'decoders.0.'):
                v
                for k, v in head.state_dict().items()
                if f'q_projs.{s}.' in k or f'decoders.{s}.' in k
            }
            nga = head._nga_slot[s]
            if nga is not None:
                state['nga_weights.0'] = head.nga_weights[nga]
            other.load_state_dict(state, strict=False)
            alone.append(other(inputs, text))
    assert torch.allclose(full, sum(alone), atol=1e-5)


def test_fused_and_explicit_attention_agree():
    head = build_part('decode_head').eval()
    inputs, text = head_inputs(head)
    with torch.no_grad():
        fused = head(inputs, text)
        set_fused_attn(head, False)
        explicit = head(inputs, text)
    assert (fused - explicit).abs().max() <= 1e-6


# Only the last layer's attention logits make a mask: its value, output and
# FFN feed nothing (kept for the paper's checkpoints).
UNUSED = ('cross_attn.v.', 'cross_attn.proj.', 'norm_attn.', 'linear1.',
          'linear2.', 'norm_ffn.')


def test_every_used_parameter_gets_a_gradient():
    head = build_part('decode_head', dropout=0.0).train()
    inputs, text = head_inputs(head)
    labels = torch.randint(0, CLASSES, (BATCH, 16, 24))
    losses = head.loss_by_feat(head(inputs, text), labels)
    (losses['loss_mask'] + losses['loss_dice']).backward()
    last = f'layers.{head.num_layers - 1}.'
    for name, grad in gradients(head).items():
        if last in name and any(part in name for part in UNUSED):
            assert grad is None, name
            continue
        assert grad is not None, name
        if not name.endswith('cross_attn.k.bias') or last in name:
            # a key bias before a softmax shifts all logits of a query
            # alike, so only the last layer's gets a non-zero gradient
            assert grad.abs().sum() > 0, name


def test_calibrated_scores_shift_only_the_seen_classes():
    head = build_part('decode_head', seen_score_shift=0.1)
    pred_masks = torch.randn(1, 3, 4, 6)
    seen = torch.tensor([True, False, True])
    scores = head.predict_by_feat(pred_masks, seen)
    expected = pred_masks.sigmoid() - torch.tensor([0.1, 0.0, 0.1])[None, :,
                                                                    None, None]
    assert torch.allclose(scores, expected)


def test_paper_unused_parameters_follow_the_widths():
    head = build_part('decode_head')
    c = head.embed_dims
    unused = head.paper_unused_parameters()
    assert unused['layers'] == len(head.stages) * head.num_layers == 9
    assert unused['per_layer'] == 4 * c * c + 6 * c
    assert unused['total'] == unused['trainable'] == 9 * (4 * c * c + 6 * c)
    for p in head.decoders[0].parameters():
        p.requires_grad = False
    assert head.paper_unused_parameters()['trainable'] == \
        6 * (4 * c * c + 6 * c)


# Direct aggregation: the seven maps of the cascade in one decoder.
ALL_MAPS = [list(range(7))]


def test_uniform_nga_starts_with_equal_weights():
    """... 1/7 for seven maps, where the Gaussian gives the earliest map
    exp(-18); one decoder's masks at img_size."""
    head = build_part('decode_head', stages=ALL_MAPS, nga_init='uniform')
    [weights] = head.nga_weights
    assert torch.equal(weights.detach(), torch.full((7, ), 1 / 7))
    gaussian = build_part('decode_head', stages=ALL_MAPS).nga_weights[0]
    assert gaussian[0].item() == pytest.approx(math.exp(-18), rel=1e-6)
    assert len(head.decoders) == len(head.q_projs) == 1
    inputs, text = head_inputs(head)
    head.eval()
    with torch.no_grad():
        masks = head(inputs, text)
    assert masks.shape == (BATCH, CLASSES, *head.img_size)
    # its memory is the mean of the seven maps
    tokens = [m.flatten(2).transpose(1, 2) for m in inputs[0]]
    assert torch.allclose(
        head._memory(0, tokens), torch.stack(tokens).mean(0), atol=1e-6)


def test_uniform_nga_trains():
    """Every NGA weight gets a gradient, and a few steps of Adam on one
    batch lower the loss and move the weights apart."""
    head = build_part(
        'decode_head', stages=ALL_MAPS, nga_init='uniform',
        dropout=0.0).train()
    inputs, text = head_inputs(head)
    labels = torch.randint(
        0,
        CLASSES, (BATCH, 16, 24),
        generator=torch.Generator().manual_seed(1))
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = head.loss_by_feat(head(inputs, text), labels)
        total = loss['loss_mask'] + loss['loss_dice']
        total.backward()
        [grad] = [p.grad for p in head.nga_weights]
        assert grad is not None and (grad != 0).all()
        optimizer.step()
        losses.append(total.item())
    assert losses[-1] < losses[0]
    assert head.nga_weights[0].detach().std() > 0


def test_nga_init_is_checked():
    with pytest.raises(ValueError, match='nga_init must be one of'):
        build_part('decode_head', nga_init='equal')
