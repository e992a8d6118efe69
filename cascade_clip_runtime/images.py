"""Images in: reading a file as RGB (turned as its EXIF orientation says,
as OpenCV reads it), checking an array, the config's test resize, and the
normalised model input.

Every entry point that takes arrays takes ``(H, W, 3)`` uint8 RGB, as
Pillow and most users hold images.
"""
import os.path as osp
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np


def read_image(path: str) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB, turned as its EXIF
    orientation says; grey, 16-bit grey, RGBA and palette images converted
    as OpenCV converts them. The error names a file that cannot be read."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    if osp.getsize(path) == 0:
        raise ValueError(f'cannot read image {path}: the file is empty '
                         '(0 bytes)')
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith('I;16'):
                # OpenCV keeps the high byte of 16-bit samples
                grey = (np.asarray(image) >> 8).astype(np.uint8)
                return np.repeat(grey[..., None], 3, axis=2)
            return np.asarray(image.convert('RGB'))
    except UnidentifiedImageError as err:
        raise ValueError(
            f'cannot read image {path}: not an image file') from err
    except (OSError, ValueError, SyntaxError) as err:
        reason = ' '.join(str(err).split()) or type(err).__name__
        raise ValueError(f'cannot read image {path}: {reason}') from err


def check_image(image: Any) -> np.ndarray:
    """``image`` as an ``(H, W, 3)`` uint8 RGB array, or an error that says
    what it is instead."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f'the image must be an (H, W, 3) uint8 RGB array, '
                         f'not {array.shape} {array.dtype}')
    if 0 in array.shape:
        raise ValueError(f'the image is empty: {array.shape}')
    return array


def resized_size(height: int, width: int,
                 rule: Optional[Dict[str, Any]]) -> Tuple[int, int]:
    """``(h, w)`` of an image after a test resize (the manifest's
    ``image.resize``, see ``cascade_clip.deploy.export.resize_rule``),
    computed as mmseg's ``ResizeShortestEdge`` and mmcv's ``Resize``
    compute it."""
    if rule is None:
        return height, width
    kind = rule['type']
    if kind == 'shortest_edge':
        size = float(rule['scale'])
        factor = size / min(height, width)
        if height < width:
            new_h, new_w = size, factor * width
        else:
            new_h, new_w = factor * height, size
        if max(new_h, new_w) > rule['max_size']:
            factor = rule['max_size'] * 1.0 / max(new_h, new_w)
            new_h, new_w = new_h * factor, new_w * factor
        # then a Resize keeping the ratio within that (w, h)
        kind, scale = 'rescale', (int(new_w + 0.5), int(new_h + 0.5))
    else:
        scale = tuple(rule['scale'])
    if kind == 'resize':
        return int(scale[1]), int(scale[0])
    if kind != 'rescale':
        raise ValueError(f'unknown resize type {kind!r} in the manifest')
    factor = min(
        max(scale) / max(height, width),
        min(scale) / min(height, width))
    return int(height * float(factor) + 0.5), int(width * float(factor) + 0.5)


def _source_positions(size: int,
                      out_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """OpenCV's first source pixel and float32 weight of the second, per
    output pixel, before any clamping at the borders."""
    scale = 1.0 / (out_size / size)
    position = ((np.arange(out_size) + 0.5) * scale - 0.5).astype(np.float32)
    first = np.floor(position).astype(np.int64)
    return first, position - first.astype(np.float32)


def resize_uint8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resizes ``(H, W, C)`` uint8 to ``(height, width)`` with the
    integer arithmetic of OpenCV 5's ``resize(INTER_LINEAR)`` (what mmcv's
    resize calls), bit for bit.

    Weights are float32 rounded to 11 fractional bits; columns are mixed
    exactly in integers, rows by OpenCV's vector code: each column value
    shifted right by 4, multiplied by the row weight keeping the high 16
    bits, the two summed and rounded by 2 bits. Outside the image the
    column weights are clamped to the border pixel, the row weights are not
    (the rows themselves are). An exact halving of both sides averages
    2 x 2 blocks instead, as OpenCV does.
    """
    src_h, src_w = image.shape[:2]
    if (src_h, src_w) == (height, width):
        return image.copy()
    pixels = image.astype(np.int32)
    if src_h == 2 * height and src_w == 2 * width:
        blocks = (pixels[0::2, 0::2] + pixels[0::2, 1::2] +
                  pixels[1::2, 0::2] + pixels[1::2, 1::2] + 2) >> 2
        return blocks.astype(np.uint8)
    x0, fx = _source_positions(src_w, width)
    outside = (x0 < 0) | (x0 >= src_w - 1)
    fx[outside] = 0
    x0 = np.clip(x0, 0, src_w - 1)
    x1 = np.minimum(x0 + 1, src_w - 1)
    a1 = np.rint(fx * 2048).astype(np.int32)
    a0 = np.rint((1 - fx) * 2048).astype(np.int32)
    y0, fy = _source_positions(src_h, height)
    b1 = np.rint(fy * 2048).astype(np.int64)[:, None, None]
    b0 = np.rint((1 - fy) * 2048).astype(np.int64)[:, None, None]
    columns = (pixels[:, x0] * a0[:, None] + pixels[:, x1] * a1[:, None])
    top = columns[np.clip(y0, 0, src_h - 1)] >> 4
    bottom = columns[np.clip(y0 + 1, 0, src_h - 1)] >> 4
    rows = ((top * b0) >> 16) + ((bottom * b1) >> 16)
    return np.clip((rows + 2) >> 2, 0, 255).astype(np.uint8)


def normalise(image: np.ndarray, mean: Sequence[float], std: Sequence[float],
              channel_order: str) -> np.ndarray:
    """``(1, 3, h, w)`` float32 model input of an ``(h, w, 3)`` uint8 RGB
    image: ``(x - mean) / std`` in the model's channel order (``'rgb'`` or
    ``'bgr'``; ``mean`` and ``std`` in that order)."""
    pixels = image if channel_order == 'rgb' else image[..., ::-1]
    pixels = pixels.astype(np.float32).transpose(2, 0, 1)
    mean = np.asarray(mean, np.float32)[:, None, None]
    std = np.asarray(std, np.float32)[:, None, None]
    return ((pixels - mean) / std)[None]
