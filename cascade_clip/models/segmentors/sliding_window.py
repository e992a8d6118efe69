"""Inference with overlapping windows, as the paper tests
(docs/method.md §6)."""
from typing import Callable, List, Optional, Tuple

import torch
from torch import Tensor


def sliding_windows(
        height: int, width: int, crop: Tuple[int, int],
        stride: Tuple[int, int]) -> List[Tuple[int, int, int, int]]:
    """Windows ``(y1, y2, x1, x2)`` of at most ``crop`` covering an image.

    Per axis ``n = max(L - crop + stride - 1, 0) // stride + 1`` windows;
    window ``i`` starts at ``i * stride`` and is shifted back to end inside
    the image; where the image is smaller than the crop, so is the window.
    """

    def starts(length, size, step):
        count = max(length - size + step - 1, 0) // step + 1
        spans = []
        for i in range(count):
            end = min(i * step + size, length)
            spans.append((max(end - size, 0), end))
        return spans

    return [(y1, y2, x1, x2) for y1, y2 in starts(height, crop[0], stride[0])
            for x1, x2 in starts(width, crop[1], stride[1])]


def slide_scores(score: Callable[[Tensor], Tensor],
                 inputs: Tensor,
                 num_classes: int,
                 crop: Tuple[int, int],
                 stride: Tuple[int, int],
                 windows_per_batch: Optional[int] = None) -> Tensor:
    """Scores ``(B, num_classes, H, W)`` of ``inputs (B, 3, H, W)`` from
    overlapping windows, averaged where they overlap.

    Args:
        score: Scores of a batch of windows at their own size.
        inputs: The images.
        num_classes: Channels of the scores.
        crop: Window size.
        stride: Window step.
        windows_per_batch: Windows (of all images) per call of ``score``;
            default all at once.
    """
    batch, _, height, width = inputs.shape
    windows = sliding_windows(height, width, crop, stride)
    per_batch = (
        max(1, windows_per_batch //
            batch) if windows_per_batch else len(windows))
    scores = inputs.new_zeros(batch, num_classes, height, width)
    counts = inputs.new_zeros(1, 1, height, width)
    for first in range(0, len(windows), per_batch):
        group = windows[first:first + per_batch]
        crops = torch.cat(
            [inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
        for (y1, y2, x1, x2), window in zip(group, score(crops).split(batch)):
            scores[:, :, y1:y2, x1:x2] += window
            counts[:, :, y1:y2, x1:x2] += 1
    return scores / counts
