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
    targets is corrected at each pixel's labelled class.

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
        logits = logits.flatten(2).float()
        labels = labels.reshape(batch, -1).long()
        if labels.shape[1] != logits.shape[2]:
            raise ValueError(f'labels {tuple(labels.shape)} and logits '
                             f'{tuple(logits.shape)} differ in size')
        valid = labels != self.ignore_index
        index = torch.where(valid, labels, 0)
        prob = logits.sigmoid()

        logit_at_label = logits.gather(1, index[:, None]).squeeze(1)
        prob_at_label = prob.gather(1, index[:, None]).squeeze(1)
        # Focal loss against all-zero targets, then at each valid pixel its
        # labelled class's term swapped from negative to positive.
        focal = self._focal(logits, prob, positive=False).sum()
        correction = (self._focal(logit_at_label, prob_at_label, True) -
                      self._focal(logit_at_label, prob_at_label, False))
        focal = focal + (correction * valid).sum()

        pixels_of_class = logits.new_zeros(batch, num_classes).scatter_add_(
            1, index, valid.float())
        prob_on_class = logits.new_zeros(batch, num_classes).scatter_add_(
            1, index, prob_at_label * valid)
        present = pixels_of_class > 0
        dice = 1 - (2 * prob_on_class + 1) / (
            prob.sum(-1) + pixels_of_class + 1)

        count = present.sum().float()
        all_reduce(count)
        count = torch.clamp(count / get_world_size(), min=1)
        return {
            'loss_mask':
            self.focal_weight * focal / logits.shape[2] / count,
            'loss_dice': self.dice_weight * dice[present].sum() / count,
        }
