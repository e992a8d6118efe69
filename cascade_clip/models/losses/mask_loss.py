from typing import Dict

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size
from mmseg.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class MaskLoss(nn.Module):
    """Sigmoid focal loss over all classes plus dice loss over the classes
    present in each image, both divided by the number of present classes.

    ``forward(logits (B, K, H, W), labels (B, H, W))`` returns
    ``{'loss_mask': focal_weight * focal, 'loss_dice': dice_weight * dice}``.

    - ``n``: the (image, class) pairs whose class occurs in the image's
      labels, summed over all processes, divided by the world size, at
      least 1.
    - focal: against one-hot targets (an ignored pixel is an all-zero
      target, so it still counts as a negative), averaged over pixels,
      summed over images and classes, divided by ``n``.
    - dice: ``1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1)`` with
      ``p = sigmoid(logits)`` for each present pair, summed over all pixels,
      summed over the pairs, divided by ``n``.

    The one-hot targets are never materialised: the loss against all-zero
    targets is corrected at each pixel's labelled class. The terms over all
    logits run in float32, a chunk of classes at a time, without keeping
    full-size intermediates for the backward pass
    (:class:`DenseMaskTerms`).

    Args:
        focal_weight: Weight of the focal term (``loss_mask``).
        dice_weight: Weight of the dice term (``loss_dice``).
        alpha: Focal loss balance of positives.
        gamma: Focal loss focusing exponent.
        ignore_index: Label value that is not a class.
    """

    def __init__(self,
                 focal_weight: float = 100.0,
                 dice_weight: float = 1.0,
                 alpha: float = 0.25,
                 gamma: float = 2.0,
                 ignore_index: int = 255):
        super().__init__()
        self.focal_weight = focal_weight
        self.dice_weight = dice_weight
        self.alpha = alpha
        self.gamma = gamma
        self.ignore_index = ignore_index

    def _focal(self, logits: Tensor, prob: Tensor, positive: bool) -> Tensor:
        if positive:
            return (self.alpha * F.softplus(-logits) *
                    (1 - prob).pow(self.gamma))
        return (1 - self.alpha) * F.softplus(logits) * prob.pow(self.gamma)

    def forward(self, logits: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        batch, num_classes = logits.shape[:2]
        logits = logits.flatten(2)
        labels = labels.reshape(batch, -1).long()
        if labels.shape[1] != logits.shape[2]:
            raise ValueError(f'labels {tuple(labels.shape)} and logits '
                             f'{tuple(logits.shape)} differ in size')
        valid = labels != self.ignore_index
        index = torch.where(valid, labels, 0)
        # Focal loss against all-zero targets summed over every element,
        # the sigmoid summed over each (image, class), and each pixel's
        # logit at its label, in one pass that keeps no full-size
        # intermediate for the backward pass.
        negatives, prob_sum, logit_at_label = DenseMaskTerms.apply(
            logits, index, self.alpha, self.gamma)
        prob_at_label = logit_at_label.sigmoid()
        # At each valid pixel its labelled class's term swapped from
        # negative to positive.
        correction = (
            self._focal(logit_at_label, prob_at_label, True) -
            self._focal(logit_at_label, prob_at_label, False))
        focal = negatives + (correction * valid).sum()

        pixels_of_class = prob_sum.new_zeros(batch, num_classes).scatter_add_(
            1, index, valid.float())
        prob_on_class = prob_sum.new_zeros(batch, num_classes).scatter_add_(
            1, index, prob_at_label * valid)
        present = pixels_of_class > 0
        dice = 1 - (2 * prob_on_class + 1) / (prob_sum + pixels_of_class + 1)

        count = present.sum().float()
        all_reduce(count)
        count = torch.clamp(count / get_world_size(), min=1)
        return {
            'loss_mask': self.focal_weight * focal / logits.shape[2] / count,
            'loss_dice': self.dice_weight * dice[present].sum() / count,
        }


class DenseMaskTerms(torch.autograd.Function):
    """The parts of :class:`MaskLoss` that touch every logit, computed in
    float32 over chunks of classes so that neither pass holds more than a
    chunk of intermediates; the backward pass recomputes them.

    ``apply(logits (B, K, N), index (B, N), alpha, gamma)`` returns

    - the focal loss against all-zero targets, summed over all elements:
      ``sum((1 - alpha) * softplus(x) * sigmoid(x)**gamma)``;
    - ``sigmoid(x)`` summed over the pixels, ``(B, K)``;
    - each pixel's logit at class ``index``, ``(B, N)`` float32.

    The gradient is returned in the logits' dtype; it is the analytic
    derivative ``(1 - alpha) * s**gamma * (s + gamma * softplus(x) * (1 - s))``
    for the first output and ``s * (1 - s)`` for the second (``s`` the
    sigmoid), accumulated in float32 with the third output's.
    """

    # Elements of float32 intermediates per chunk. Each chunk runs ~35
    # kernels: on a GPU, where each is a launch, 2**25 (128 MB each; 5
    # chunks in the batch-4 512x512 COCO step); elsewhere 2**24, as larger
    # temporaries made a CPU's batch-1 training step 4% slower.
    CHUNK_ELEMENTS = 2**24
    CUDA_CHUNK_ELEMENTS = 2**25

    @staticmethod
    def _chunks(logits: Tensor):
        batch, classes, pixels = logits.shape
        limit = (
            DenseMaskTerms.CUDA_CHUNK_ELEMENTS
            if logits.is_cuda else DenseMaskTerms.CHUNK_ELEMENTS)
        step = max(1, limit // max(1, batch * pixels))
        return [(k, min(k + step, classes)) for k in range(0, classes, step)]

    @staticmethod
    def forward(ctx, logits: Tensor, index: Tensor, alpha: float,
                gamma: float):
        negatives = logits.new_zeros((), dtype=torch.float32)
        prob_sum = logits.new_empty(logits.shape[:2], dtype=torch.float32)
        for first, last in DenseMaskTerms._chunks(logits):
            x = logits[:, first:last].float()
            prob = x.sigmoid()
            negatives += ((1 - alpha) * F.softplus(x) * prob.pow(gamma)).sum()
            prob_sum[:, first:last] = prob.sum(-1)
        at_label = logits.gather(1, index[:, None]).squeeze(1).float()
        ctx.save_for_backward(logits, index)
        ctx.alpha, ctx.gamma = alpha, gamma
        return negatives, prob_sum, at_label

    @staticmethod
    def backward(ctx, grad_negatives, grad_prob_sum, grad_at_label):
        logits, index = ctx.saved_tensors
        alpha, gamma = ctx.alpha, ctx.gamma
        grad = torch.empty_like(logits)
        for first, last in DenseMaskTerms._chunks(logits):
            x = logits[:, first:last].float()
            prob = x.sigmoid()
            g = torch.zeros_like(x)
            if grad_negatives is not None:
                g += grad_negatives * (1 - alpha) * prob.pow(gamma) * (
                    prob + gamma * F.softplus(x) * (1 - prob))
            if grad_prob_sum is not None:
                g += grad_prob_sum[:, first:last, None] * prob * (1 - prob)
            if grad_at_label is not None:
                inside = (index >= first) & (index < last)
                g.scatter_add_(1,
                               (index - first).clamp(0,
                                                     last - first - 1)[:,
                                                                       None],
                               (grad_at_label * inside)[:, None])
            grad[:, first:last] = g
        return grad, None, None, None
