"""From the scores of every class at the model's resolution to labels at
the image's size, in bounded memory.

Resizing ``(K, h, w)`` scores to a ``H x W`` photo before the argmax holds
``K x H x W`` floats: 14 GB for 300 classes and a 4000 x 3000 photo. Each
class's plane is resized on its own (bilinear interpolation mixes pixels,
never classes), so resizing a few classes at a time and keeping a running
maximum gives the same scores, and hence the same labels, bit for bit, with
memory for a few planes whatever K is. Row blocks would not: the resize
computes its sampling positions from the sizes it is given.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import Tensor

# Floats resized at once: 2**24 (64 MiB of float32), i.e. every class of a
# 512 x 683 image up to 47 classes, one class at a time of a 4000 x 3000
# one (then the peak is that plane, the running maximum and the labels).
RESIZE_BLOCK_ELEMENTS = 2**24


def _resize(scores: Tensor, size, align_corners: bool) -> Tensor:
    if tuple(scores.shape[-2:]) == tuple(size):
        return scores
    return F.interpolate(
        scores, size=size, mode='bilinear', align_corners=align_corners)


def resized_argmax(scores: Tensor,
                   size,
                   align_corners: bool = False,
                   block_elements: Optional[int] = None) -> Tensor:
    """The argmax over classes of ``scores`` resized (bilinear) to
    ``size``, resizing as many classes at a time as fit in
    ``block_elements`` floats.

    Equal to ``F.interpolate(scores, size).argmax(1)``, ties (the first
    class wins) and NaNs (taken as the largest) included.

    Args:
        scores: ``(B, K, h, w)`` scores.
        size: ``(H, W)`` to resize to.
        align_corners: As ``F.interpolate``'s.
        block_elements: How many floats a resized block may hold (at least
            one class at a time; default :data:`RESIZE_BLOCK_ELEMENTS`).

    Returns:
        ``(B, H, W)`` int64 class indices.
    """
    block_elements = block_elements or RESIZE_BLOCK_ELEMENTS
    batch, num_classes = scores.shape[:2]
    plane = batch * int(size[0]) * int(size[1])
    step = max(1, min(num_classes, block_elements // max(plane, 1)))
    if step >= num_classes:
        return _resize(scores, size, align_corners).argmax(dim=1)
    same_size = tuple(scores.shape[-2:]) == tuple(size)
    best: Optional[Tensor] = None
    labels: Optional[Tensor] = None
    for first in range(0, num_classes, step):
        block = _resize(scores[:, first:first + step], size, align_corners)
        if block.shape[1] == 1:
            value, index = block[:, 0], None
        else:
            value, index = block.max(dim=1)
            index += first
        if best is None:
            # written to below, so never a view of the caller's scores
            best = value.clone() if same_size else value
            labels = (
                index if index is not None else torch.zeros(
                    value.shape, dtype=torch.long, device=value.device))
            continue
        # later classes win only where strictly larger (ties keep the
        # first), or NaN where the best so far is not (argmax takes NaN)
        better = value > best
        nan = value.isnan()
        if nan.any():
            better |= nan & ~best.isnan()
        del nan
        torch.where(better, value, best, out=best)
        if index is None:
            labels.masked_fill_(better, first)
        else:
            torch.where(better, index, labels, out=labels)
        del block, value, index, better
    return labels


def scores_to_samples(
        seg_logits: Tensor,
        data_samples: Optional[List[SegDataSample]],
        align_corners: bool = False,
        keep_seg_logits: bool = True,
        block_elements: Optional[int] = None) -> List[SegDataSample]:
    """mmseg's ``postprocess_result`` for scores of two or more classes:
    padding removed, flips undone, resized to each image's original size;
    fills ``pred_sem_seg`` and, if ``keep_seg_logits``, ``seg_logits``.

    Args:
        seg_logits: ``(B, K, h, w)`` scores at the model's input size.
        data_samples: The batch's samples (metainfo ``ori_shape``,
            ``padding_size``/``img_padding_size``, ``flip``...); ``None``:
            new samples, scores taken at their size.
        align_corners: Of the resize.
        keep_seg_logits: Store the ``(K, H, W)`` scores at the original
            size in each sample (mmseg's contract; memory grows with K times
            the image). Without them the labels come from
            :func:`resized_argmax` in bounded memory.
        block_elements: See :func:`resized_argmax`.
    """
    batch, _, height, width = seg_logits.shape
    only_prediction = data_samples is None
    if only_prediction:
        data_samples = [SegDataSample() for _ in range(batch)]
    for i in range(batch):
        scores = seg_logits[i:i + 1]
        size = scores.shape[-2:]
        if not only_prediction:
            meta = data_samples[i].metainfo
            left, right, top, bottom = meta.get(
                'img_padding_size', meta.get('padding_size', [0] * 4))
            scores = scores[:, :, top:height - bottom, left:width - right]
            if meta.get('flip', None):
                direction = meta.get('flip_direction', None)
                assert direction in ['horizontal', 'vertical']
                scores = scores.flip(
                    dims=(3, ) if direction == 'horizontal' else (2, ))
            size = tuple(meta['ori_shape'][:2])
        if keep_seg_logits:
            if not only_prediction:
                scores = F.interpolate(
                    scores,
                    size=size,
                    mode='bilinear',
                    align_corners=align_corners)
            scores = scores[0]
            data_samples[i].set_data({
                'seg_logits':
                PixelData(data=scores),
                'pred_sem_seg':
                PixelData(data=scores.argmax(dim=0, keepdim=True))
            })
        else:
            labels = resized_argmax(scores, size, align_corners,
                                    block_elements)
            data_samples[i].set_data({'pred_sem_seg': PixelData(data=labels)})
    return data_samples
