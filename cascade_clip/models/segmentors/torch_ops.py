"""The array operations of :mod:`cascade_clip_runtime.scores` for torch
tensors: the segmentor's windows, resize back and best class are the
runtime's steps, run where the model's scores are (a GPU's scores stay
there)."""
from typing import Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cascade_clip_runtime.scores import ArrayOps


class TorchOps(ArrayOps):
    """:class:`~cascade_clip_runtime.scores.ArrayOps` of torch tensors.

    Args:
        align_corners: Of the bilinear resize.
    """

    def __init__(self, align_corners: bool = False):
        self.align_corners = align_corners

    def zeros(self, shape: Sequence[int], like: Tensor) -> Tensor:
        return like.new_zeros(tuple(shape))

    def concatenate(self, arrays: Sequence[Tensor]) -> Tensor:
        return torch.cat(list(arrays))

    def resize(self, scores: Tensor, size: Tuple[int, int]) -> Tensor:
        if tuple(scores.shape[-2:]) == tuple(size):
            return scores
        return F.interpolate(
            scores,
            size=tuple(size),
            mode='bilinear',
            align_corners=self.align_corners)

    def best_class(self, scores: Tensor) -> Tuple[Tensor, Tensor]:
        # the first index of the maximum, NaN the largest, as argmax
        best, labels = scores.max(dim=1)
        return best, labels

    def where(self, condition: Tensor, a: Tensor, b: Tensor,
              out: Tensor) -> None:
        torch.where(condition, a, b, out=out)

    def isnan(self, x: Tensor) -> Tensor:
        return x.isnan()

    def to_numpy(self, x: Tensor) -> np.ndarray:
        return x.cpu().numpy()


TORCH = TorchOps()
