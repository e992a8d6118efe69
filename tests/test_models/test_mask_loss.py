"""MaskLoss against the loss written out naively (docs/method.md §5)."""
import pytest
import torch
import torch.nn.functional as F

from cascade_clip.models.losses import MaskLoss


def naive_losses(logits, labels, alpha=0.25, gamma=2.0, ignore=255):
    """Materialised one-hot targets, one image and class at a time."""
    batch, classes = logits.shape[:2]
    focal = dice = 0.0
    present = 0
    for b in range(batch):
        for k in range(classes):
            target = (labels[b] == k).float()  # ignored pixels: all-zero
            p = logits[b, k].sigmoid()
            ce = F.binary_cross_entropy_with_logits(
                logits[b, k], target, reduction='none')
            p_t = p * target + (1 - p) * (1 - target)
            weight = alpha * target + (1 - alpha) * (1 - target)
            focal = focal + (weight * ce * (1 - p_t)**gamma).mean()
            if target.sum() > 0:
                present += 1
                dice = dice + 1 - (2 * (p * target).sum() + 1) / (
                    p.sum() + target.sum() + 1)
    n = max(present, 1)
    return 100 * focal / n, dice / n


def test_matches_the_naive_loss_on_a_non_square_batch():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 6, 9) * 3
    labels = torch.randint(0, 5, (2, 6, 9))
    labels[0, :2] = 255
    labels[1][labels[1] == 3] = 255  # class 3 absent from image 1
    losses = MaskLoss()(logits, labels)
    focal, dice = naive_losses(logits, labels)
    assert torch.allclose(losses['loss_mask'], focal, rtol=1e-5)
    assert torch.allclose(losses['loss_dice'], dice, rtol=1e-5)


def test_weights_and_an_image_without_labels():
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 4, 4)
    ignored = torch.full((1, 4, 4), 255)
    plain = MaskLoss()(logits, ignored)
    weighted = MaskLoss(focal_weight=2.0, dice_weight=3.0)(logits, ignored)
    focal, _ = naive_losses(logits, ignored)
    assert torch.allclose(plain['loss_mask'], focal, rtol=1e-5)
    assert plain['loss_dice'] == 0  # no class present
    assert torch.allclose(
        weighted['loss_mask'], plain['loss_mask'] * 2.0 / 100, rtol=1e-6)
    with pytest.raises(ValueError, match='differ in size'):
        MaskLoss()(logits, torch.zeros(1, 4, 5, dtype=torch.long))


@pytest.mark.parametrize('chunk', [10**6, 2 * 6 * 9])  # one, several
def test_gradient_matches_the_naive_loss(monkeypatch, chunk):
    """The fused terms compute their own backward pass, a chunk of classes
    at a time: it must be the naive loss's gradient."""
    from cascade_clip.models.losses.mask_loss import DenseMaskTerms
    monkeypatch.setattr(DenseMaskTerms, 'CHUNK_ELEMENTS', chunk)
    assert len(DenseMaskTerms._chunks(torch.empty(
        2, 5, 54))) == (1 if chunk > 10**5 else 5)
    torch.manual_seed(0)
    logits = (torch.randn(2, 5, 6, 9) * 3).requires_grad_()
    labels = torch.randint(0, 5, (2, 6, 9))
    labels[0, :2] = 255
    losses = MaskLoss()(logits, labels)
    (losses['loss_mask'] + 2 * losses['loss_dice']).backward()
    reference = logits.detach().clone().requires_grad_()
    focal, dice = naive_losses(reference, labels)
    (focal + 2 * dice).backward()
    assert torch.allclose(logits.grad, reference.grad, rtol=1e-4, atol=1e-7)


def test_bfloat16_logits_get_a_bfloat16_gradient():
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 4, 4)
    labels = torch.randint(0, 3, (1, 4, 4))
    half = logits.bfloat16().requires_grad_()
    full = half.detach().float().requires_grad_()
    for x in (half, full):
        losses = MaskLoss()(x, labels)
        (losses['loss_mask'] + losses['loss_dice']).backward()
    assert half.grad.dtype == torch.bfloat16
    assert torch.allclose(half.grad.float(), full.grad, rtol=1e-2, atol=1e-4)
