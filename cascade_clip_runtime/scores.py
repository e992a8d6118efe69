"""From a model's window scores to labels: where the windows go, how their
scores are merged, the resize back to the image's size and the best class
per pixel.

The steps are written once for any array library: each takes an
:class:`ArrayOps`, the handful of operations that differ between them.
:data:`NUMPY` is numpy's (with PyTorch's bilinear weights written out);
``cascade_clip`` gives PyTorch's, so that a model on a GPU keeps its scores
there.
"""
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

Array = Any  # a numpy array, or another library's (torch.Tensor)
Box = Tuple[int, int, int, int]  # (y1, y2, x1, x2)

# The label of a pixel given none of the class names (the unlabelled rule,
# :func:`unlabel`); label pictures write it as 255 (8-bit) or 65535.
UNLABELLED = -1

# Floats of resized scores held at once: 2**24 (64 MiB of float32), i.e.
# every class of a 512 x 683 image up to 47 classes, one class at a time of
# a 4000 x 3000 one. Resizing ``(K, h, w)`` scores to a photo before the
# argmax would hold ``K x H x W`` floats (14 GB for 300 classes and a 4000 x
# 3000 photo); each class's plane is resized on its own (bilinear
# interpolation mixes pixels, never classes), so a few classes at a time
# with a running maximum give the same labels with memory for a few planes.
RESIZE_BLOCK_ELEMENTS = 2**24


def sliding_windows(height: int, width: int, crop: Sequence[int],
                    stride: Sequence[int]) -> List[Box]:
    """Windows ``(y1, y2, x1, x2)`` of at most ``crop`` covering an image,
    as the paper tests (docs/method.md §6).

    Per axis ``n = max(L - crop + stride - 1, 0) // stride + 1`` windows;
    window ``i`` starts at ``i * stride`` and is shifted back to end inside
    the image; where the image is smaller than the crop, so is the window.
    """

    def spans(length, size, step):
        count = max(length - size + step - 1, 0) // step + 1
        ends = [min(i * step + size, length) for i in range(count)]
        return [(max(end - size, 0), end) for end in ends]

    return [(y1, y2, x1, x2) for y1, y2 in spans(height, crop[0], stride[0])
            for x1, x2 in spans(width, crop[1], stride[1])]


def _interpolation(
        size: int, out_size: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's bilinear (``align_corners=False``) source pixels and
    float32 weights along one axis: the source position computed with one
    rounding (a fused multiply-add, as PyTorch's CPU kernel is compiled),
    clamped at 0."""
    scale = np.float32(size) / np.float32(out_size)
    position = (float(scale) * (np.arange(out_size) + 0.5) - 0.5).astype(
        np.float32)
    position = np.maximum(position, np.float32(0))
    first = np.minimum(np.floor(position).astype(np.int64), size - 1)
    second = first + (first < size - 1)
    weight = np.clip(position - first.astype(np.float32), 0,
                     1).astype(np.float32)
    return first, second, np.float32(1) - weight, weight


def resize_scores(scores: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resizes ``(..., h, w)`` float32 scores to ``(height,
    width)`` with PyTorch's weights (``F.interpolate``, ``align_corners=
    False``); equal to it up to float rounding."""
    in_h, in_w = scores.shape[-2:]
    if in_w != width:
        x0, x1, w0, w1 = _interpolation(in_w, width)
        scores = scores[..., x0] * w0 + scores[..., x1] * w1
    if in_h != height:
        y0, y1, w0, w1 = _interpolation(in_h, height)
        scores = (
            scores[..., y0, :] * w0[:, None] +
            scores[..., y1, :] * w1[:, None])
    return scores


def first_argmax(scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The maximum of ``(B, K, H, W)`` scores over classes and the first
    class that has it (NaN counting as the largest, as ``argmax``).

    Found by comparing each class's plane with the maximum, last class
    first, which is faster than numpy's ``argmax`` over the class axis
    (docs/deployment.md).
    """
    best = scores.max(axis=1)
    labels = np.zeros(best.shape, np.int64)
    for k in range(scores.shape[1] - 1, -1, -1):
        labels[scores[:, k] == best] = k
    nan = np.isnan(best)
    if nan.any():
        labels[nan] = np.isnan(np.moveaxis(scores, 1, -1)[nan]).argmax(-1)
    return best, labels


class ArrayOps:
    """What the score steps need of an array library, for numpy float32
    arrays; ``cascade_clip`` gives the same for torch tensors."""

    def zeros(self, shape: Sequence[int], like: Array) -> Array:
        """Zeros of ``shape``, of ``like``'s type (and device)."""
        return np.zeros(shape, np.float32)

    def concatenate(self, arrays: Sequence[Array]) -> Array:
        """``arrays`` joined along the first axis."""
        return np.concatenate(arrays)

    def resize(self, scores: Array, size: Tuple[int, int]) -> Array:
        """``(B, K, h, w)`` scores resized bilinearly to ``size``
        (``align_corners=False``); the same array where it has that
        size."""
        if tuple(scores.shape[-2:]) == tuple(size):
            return scores
        return resize_scores(scores, *size)

    def best_class(self, scores: Array) -> Tuple[Array, Array]:
        """The maximum over axis 1 of ``(B, K, H, W)`` scores and the first
        class that has it (NaN the largest); new arrays."""
        return first_argmax(scores)

    def where(self, condition: Array, a: Array, b: Array, out: Array) -> None:
        """``out = a where condition else b``."""
        np.copyto(out, np.where(condition, a, b))

    def isnan(self, x: Array) -> Array:
        return np.isnan(x)

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.asarray(x)


NUMPY = ArrayOps()


def slide_scores(score: Callable[[Array], Array],
                 inputs: Array,
                 num_classes: int,
                 crop: Sequence[int],
                 stride: Sequence[int],
                 windows_per_batch: Optional[int] = None,
                 ops: ArrayOps = NUMPY) -> Array:
    """Scores ``(B, num_classes, H, W)`` of ``inputs (B, 3, H, W)`` from
    overlapping windows (:func:`sliding_windows`), summed and divided by
    the number of windows over each pixel.

    Args:
        score: Scores ``(N, num_classes, h, w)`` of a batch of windows at
            their own size.
        inputs: The normalised images.
        num_classes: Channels of the scores.
        crop: Window size ``(h, w)``.
        stride: Window step ``(h, w)``.
        windows_per_batch: Windows (of all images) per call of ``score``;
            default all at once.
        ops: The array library's operations.
    """
    batch, _, height, width = inputs.shape
    windows = sliding_windows(height, width, crop, stride)
    per_batch = (
        max(1, windows_per_batch //
            batch) if windows_per_batch else len(windows))
    scores = ops.zeros((batch, num_classes, height, width), inputs)
    counts = ops.zeros((1, 1, height, width), inputs)
    for first in range(0, len(windows), per_batch):
        group = windows[first:first + per_batch]
        crops = ops.concatenate(
            [inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
        window_scores = score(crops)
        for i, (y1, y2, x1, x2) in enumerate(group):
            scores[:, :, y1:y2,
                   x1:x2] += window_scores[i * batch:(i + 1) * batch]
            counts[:, :, y1:y2, x1:x2] += 1
        del crops, window_scores
    scores /= counts
    return scores


def resized_argmax(
        scores: Array,
        size: Sequence[int],
        ops: ArrayOps = NUMPY,
        block_elements: Optional[int] = None) -> Tuple[Array, Array]:
    """The best class per pixel of ``(B, K, h, w)`` scores resized
    (bilinear) to ``size``, resizing as many classes at a time as fit in
    ``block_elements`` floats.

    Equal to resizing all classes and taking the maximum over them, ties
    (the first class wins) and NaNs (taken as the largest) included.

    Args:
        scores: ``(B, K, h, w)`` scores.
        size: ``(H, W)`` to resize to.
        ops: The array library's operations.
        block_elements: How many floats a resized block may hold (at least
            one class at a time; default :data:`RESIZE_BLOCK_ELEMENTS`).

    Returns:
        ``(B, H, W)`` best scores and ``(B, H, W)`` int64 class indices.
    """
    block_elements = block_elements or RESIZE_BLOCK_ELEMENTS
    batch, num_classes = scores.shape[:2]
    plane = batch * int(size[0]) * int(size[1])
    step = max(1, min(num_classes, block_elements // max(plane, 1)))
    best = labels = None
    for first in range(0, num_classes, step):
        block = ops.resize(scores[:, first:first + step], tuple(size))
        value, index = ops.best_class(block)
        del block
        if first:
            index += first
        if best is None:
            best, labels = value, index
            continue
        # later classes win only where strictly larger (ties keep the
        # first), or NaN where the best so far is not (argmax takes NaN)
        better = value > best
        nan = ops.isnan(value)
        if nan.any():
            better |= nan & ~ops.isnan(best)
        del nan
        ops.where(better, value, best, out=best)
        ops.where(better, index, labels, out=labels)
        del value, index, better
    return best, labels


def check_threshold(threshold: Optional[float]) -> None:
    """A threshold is a probability: from 0 to 1, or ``None`` (off)."""
    if threshold is None:
        return
    if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise ValueError(f'threshold {threshold!r}: give a probability from '
                         '0 to 1 (a pixel whose best class is less likely is '
                         'unlabelled), or none')


def unlabel(labels: np.ndarray,
            best: np.ndarray,
            shift: np.ndarray,
            num_classes: int,
            threshold: Optional[float] = None) -> np.ndarray:
    """The unlabelled rule: :data:`UNLABELLED` where a pixel's best class
    is one of the distractors (indices from ``num_classes`` on) or, with a
    ``threshold``, where its probability is below it.

    The probability of a class at a pixel is its sigmoid, the calibrated
    score plus the class's seen-class shift (the scores are ``sigmoid -
    shift``). A pixel exactly at the threshold keeps its class.

    Args:
        labels: ``(H, W)`` int64 best class per pixel, of the classes and
            distractors.
        best: ``(H, W)`` the best class's calibrated score.
        shift: ``(K + D,)`` the seen-class shift of each class.
        num_classes: ``K``, the classes given; the rest are distractors.
        threshold: Probability below which a pixel is unlabelled
            (``None``: no threshold).

    Returns:
        ``labels``, changed in place.
    """
    check_threshold(threshold)
    if threshold is not None:
        probability = best + np.asarray(shift, np.float32)[labels]
        labels[probability < np.float32(threshold)] = UNLABELLED
        del probability
    labels[labels >= num_classes] = UNLABELLED
    return labels


def score_memory_bytes(num_classes: int,
                       height: int,
                       width: int,
                       crop: Optional[Sequence[int]] = None,
                       stride: Optional[Sequence[int]] = None,
                       windows_per_batch: Optional[int] = None) -> int:
    """Bytes of the float32 class scores a model holds to segment an input
    of ``height x width`` (after the test resize) into ``num_classes``
    classes: those of the whole input and, with windows (``crop`` and
    ``stride``), those of one batch of windows at the window size (twice:
    the head's scores and their resized copy); without windows the whole
    input's scores twice. A lower bound of what a request needs; it grows
    with the classes times the pixels."""
    pixels = height * width
    if crop is None:
        return 4 * num_classes * 2 * pixels
    windows = len(sliding_windows(height, width, crop, stride))
    per_batch = min(windows, windows_per_batch or windows)
    return 4 * num_classes * (pixels + 2 * per_batch * crop[0] * crop[1])
