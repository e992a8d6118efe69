"""From the scores of every class at the model's resolution to labels at
the image's size, in bounded memory (a few classes resized at a time, see
:func:`cascade_clip_runtime.scores.resized_argmax`), as mmseg's
``postprocess_result``.
"""
from typing import List, Optional

import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import Tensor

from cascade_clip_runtime.scores import resized_argmax
from .torch_ops import TorchOps


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
            :func:`~cascade_clip_runtime.scores.resized_argmax` in
            bounded memory.
        block_elements: Floats resized at once (see
            :func:`~cascade_clip_runtime.scores.resized_argmax`).
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
            _, labels = resized_argmax(scores, size, TorchOps(align_corners),
                                       block_elements)
            data_samples[i].set_data({'pred_sem_seg': PixelData(data=labels)})
    return data_samples
