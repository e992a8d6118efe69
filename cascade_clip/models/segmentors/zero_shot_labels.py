"""The label remapping of zero-shot training, in one place."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...structures import ZeroShotSplit


class ZeroShotLabels(nn.Module):
    """From a dataset's labels to the channels of the head that trains.

    ``forward(labels (B, H, W), pred_masks (B, K, h, w), self_training)``:
    inductive, a seen class becomes its position among the seen classes
    and anything else the ignore index; transductive, an unseen class's
    pixel takes the unseen class that ``pred_masks`` (resized to the
    labels) scores highest, while seen classes and the ignore index stay.

    Its tables are buffers (they follow the model's device); ``seen_mask``
    ``(K,)`` marks the seen classes.

    Args:
        split: The classes.
        ignore_index: Label value that is not a class.
    """

    def __init__(self, split: ZeroShotSplit, ignore_index: int = 255):
        super().__init__()
        self.num_classes = split.num_classes
        self.ignore_index = ignore_index
        self.has_unseen = bool(split.unseen)
        seen_mask = torch.zeros(self.num_classes, dtype=torch.bool)
        seen_mask[list(split.seen)] = True
        # seen class -> its position in `seen`; others (unseen, neither and
        # the ignore index) -> ignore index
        table = max(self.num_classes, ignore_index) + 1
        to_seen = torch.full((table, ), ignore_index, dtype=torch.long)
        to_seen[list(split.seen)] = torch.arange(len(split.seen))
        is_unseen = torch.zeros(table, dtype=torch.bool)
        is_unseen[list(split.unseen)] = True
        self.register_buffer('seen_mask', seen_mask, False)
        self.register_buffer('to_seen', to_seen, False)
        self.register_buffer('is_unseen', is_unseen, False)
        self.register_buffer('unseen_ids',
                             torch.tensor(split.unseen, dtype=torch.long),
                             False)

    def forward(self, labels: Tensor, pred_masks: Tensor,
                self_training: bool) -> Tensor:
        labels = labels.long()
        bad = (labels >= self.num_classes) & (labels != self.ignore_index)
        if bad.any():
            raise ValueError(
                f'labels hold values {labels[bad].unique().tolist()}, which '
                f'are neither classes of this {self.num_classes}-class model '
                f'nor the ignore index {self.ignore_index}; check the '
                'dataset\'s label files and reduce_zero_label')
        if not self_training:
            return self.to_seen[labels]
        if not self.has_unseen:
            return labels
        with torch.no_grad():
            logits = F.interpolate(
                pred_masks.detach()[:, self.unseen_ids],
                size=labels.shape[-2:],
                mode='bilinear',
                align_corners=False)
            pseudo = self.unseen_ids[logits.argmax(dim=1)]
        return torch.where(self.is_unseen[labels], pseudo, labels)
