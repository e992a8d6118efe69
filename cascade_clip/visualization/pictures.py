"""Pictures of segmentations: label maps in class colours, an image, its
ground truth and a prediction side by side with a legend, and overlays of
an image with its labels and their shares."""
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import pick_font

CAPTIONS = ('image', 'ground truth', 'prediction')
UNSEEN_MARK = ' (unseen)'


@dataclass(frozen=True)
class StripLayout:
    """Geometry of the strip below the panels, in pixels: a row of panel
    captions, then the legend's entries in ``columns`` columns.

    All sizes follow from ``font_size`` and the picture's width alone, so a
    picture's size does not depend on the font file found.
    """
    width: int
    num_entries: int
    font_size: int = 14

    @property
    def padding(self) -> int:
        return max(2, self.font_size // 2)

    @property
    def row_height(self) -> int:
        return self.font_size + max(4, self.font_size // 2)

    @property
    def columns(self) -> int:
        return max(1, self.width // (14 * self.font_size))

    @property
    def rows(self) -> int:
        return math.ceil(self.num_entries / self.columns)

    @property
    def height(self) -> int:
        return 2 * self.padding + self.row_height * (1 + self.rows)


def legend_strip_height(width: int,
                        num_entries: int,
                        font_size: int = 14) -> int:
    """Height of the strip below the panels of a picture ``width`` wide whose
    legend has ``num_entries`` entries."""
    return StripLayout(width, num_entries, font_size).height


def colorize(label: np.ndarray,
             palette: Sequence[Sequence[int]],
             ignore_index: Optional[int] = 255) -> np.ndarray:
    """``(H, W)`` class ids to ``(H, W, 3)`` uint8 RGB with the palette;
    ``ignore_index`` (unless ``None``; and any id without a colour)
    black."""
    label = np.asarray(label)
    if label.dtype.kind not in 'iu':
        label = label.astype(np.int64)
    lut = np.zeros((max(256, len(palette),
                        int(label.max(initial=0)) + 1), 3), np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8).reshape(-1, 3)
    if ignore_index is not None:
        lut[ignore_index] = 0
    return lut[label]


def load_font(size: int, texts: Sequence[str] = ()) -> ImageFont.ImageFont:
    """The font of :func:`~cascade_clip.visualization.fonts.pick_font` for
    ``texts`` (DejaVu Sans unless it lacks a character) at ``size``
    pixels."""
    return pick_font(texts).load(size)


def legend_font_size(height: int, width: int) -> int:
    """Legend text size for a picture of ``height x width``: 14 px up to a
    560 px shorter side, then 1/40 of it (75 px on a 4000 x 3000 photo)."""
    return max(14, round(min(height, width) / 40))


def fit_text(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """``text``, shortened with an ellipsis until it is at most ``width``
    pixels wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + '…', font=font) > width:
        text = text[:-1]
    return text + '…' if text else ''


def resize_labels(labels: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """A label map resized (nearest) to ``shape`` if it is not that size."""
    if labels.shape == tuple(shape):
        return labels
    return mmcv.imresize(
        labels.astype(np.uint8), (shape[1], shape[0]), interpolation='nearest')


def legend_entries(class_ids: Sequence[int], class_names: Sequence[str],
                   unseen_classes: Sequence[int]) -> List[str]:
    """Legend texts of the classes, ``'name (unseen)'`` for unseen ones."""
    unseen = set(int(i) for i in unseen_classes)
    return [
        str(class_names[i]) + (UNSEEN_MARK if i in unseen else '')
        for i in class_ids
    ]


def compose_picture(
        image: np.ndarray,
        gt: np.ndarray,
        pred: np.ndarray,
        class_names: Sequence[str],
        palette: Sequence[Sequence[int]],
        unseen_classes: Sequence[int] = (),
        ignore_index: int = 255,
        font_size: Optional[int] = None,
        pred_caption: str = CAPTIONS[2]) -> Tuple[np.ndarray, List[str]]:
    """The picture of one image and its legend entries.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        gt: ``(H, W)`` ground-truth class ids, ``ignore_index`` where none.
        pred: ``(H, W)`` predicted class ids.
        class_names: The dataset's classes.
        palette: One RGB colour per class.
        unseen_classes: Ids marked "(unseen)" in the legend.
        ignore_index: Label value drawn black and left out of the legend.
        font_size: Pixel size of the strip's text (default:
            :func:`legend_font_size` of the panels).
        pred_caption: The prediction panel's caption (shortened to
            ``'prediction'`` where it does not fit).

    Returns:
        ``(H + strip, 3 * W, 3)`` uint8 RGB: image, ground truth and
        prediction side by side, the strip of
        :func:`legend_strip_height` below; and the legend's entries.
    """
    height, width = gt.shape
    if image.shape[:2] != (height, width) or pred.shape != (height, width):
        raise ValueError(f'image {image.shape[:2]}, ground truth '
                         f'{gt.shape} and prediction {pred.shape} must have '
                         'the same size')
    present = np.union1d(np.unique(gt), np.unique(pred))
    class_ids = [int(i) for i in present if i != ignore_index]
    outside = [i for i in class_ids if not 0 <= i < len(class_names)]
    if outside:
        raise ValueError(f'class ids {outside} are not classes of the '
                         f'dataset ({len(class_names)} classes)')
    entries = legend_entries(class_ids, class_names, unseen_classes)
    font_size = font_size or legend_font_size(height, width)

    layout = StripLayout(3 * width, len(entries), font_size)
    canvas = np.full((height + layout.height, 3 * width, 3), 255, np.uint8)
    canvas[:height, :width] = image
    canvas[:height, width:2 * width] = colorize(gt, palette, ignore_index)
    canvas[:height, 2 * width:] = colorize(pred, palette, ignore_index)

    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    font = load_font(font_size,
                     list(entries) + list(CAPTIONS) + [pred_caption])
    text_dy = (layout.row_height - font_size) // 2
    top = height + layout.padding
    gt_caption = CAPTIONS[1]
    if (gt == ignore_index).any():
        gt_caption += ' (black: ignored)'
    for k, caption in enumerate((CAPTIONS[0], gt_caption, pred_caption)):
        if draw.textlength(caption, font=font) > width - 4:
            caption = CAPTIONS[k]
        caption = fit_text(draw, caption, font, width - 4)
        x = k * width + (width - draw.textlength(caption, font=font)) / 2
        draw.text((x, top + text_dy), caption, fill=(0, 0, 0), font=font)

    column_width = 3 * width // layout.columns
    swatch = font_size
    for n, (class_id, entry) in enumerate(zip(class_ids, entries)):
        row, column = divmod(n, layout.columns)
        x = column * column_width + layout.padding
        y = top + layout.row_height * (1 + row)
        sy = y + (layout.row_height - swatch) // 2
        draw.rectangle((x, sy, x + swatch - 1, sy + swatch - 1),
                       fill=tuple(int(c) for c in palette[class_id]),
                       outline=(64, 64, 64))
        text_x = x + swatch + layout.padding
        text = fit_text(draw, entry, font,
                        (column + 1) * column_width - text_x - layout.padding)
        draw.text((text_x, y + text_dy), text, fill=(0, 0, 0), font=font)
    return np.asarray(picture), entries


def blend(image: np.ndarray,
          colours: np.ndarray,
          alpha: float,
          rows: int = 512) -> np.ndarray:
    """``alpha * colours + (1 - alpha) * image``, rounded, as uint8; a block
    of rows at a time (float copies of a block only)."""
    out = np.empty_like(image)
    for top in range(0, image.shape[0], rows):
        part = slice(top, top + rows)
        mixed = colours[part].astype(np.float32)
        mixed *= alpha
        mixed += (1 - alpha) * image[part].astype(np.float32)
        out[part] = np.rint(mixed)
    return out


@dataclass(frozen=True)
class LegendBox:
    """Size of a legend of ``entries`` lines in ``font_size`` text, and
    whether it goes over the picture (its top-left corner) or beside it.

    It goes over a picture where it covers at most a quarter of it (half
    its width and half its height), else beside it on white, so that it
    neither hides a small image nor cuts its text.
    """
    width: int
    height: int
    font_size: int
    beside: bool

    @property
    def padding(self) -> int:
        return max(4, self.font_size // 3)

    @property
    def row_height(self) -> int:
        return self.font_size + max(4, self.font_size // 3)


def legend_box(draw: ImageDraw.ImageDraw, texts: Sequence[str], font,
               font_size: int, image_size: Tuple[int, int]) -> LegendBox:
    """The :class:`LegendBox` of ``texts`` for an image ``(H, W)``."""
    height, width = image_size
    probe = LegendBox(0, 0, font_size, False)
    text_width = max((draw.textlength(t, font=font) for t in texts), default=0)
    box_width = int(np.ceil(3 * probe.padding + font_size + text_width))
    box_height = 2 * probe.padding + probe.row_height * len(texts)
    beside = box_width > width // 2 or box_height > height // 2
    return LegendBox(box_width, box_height, font_size, beside)


def draw_overlay(image: np.ndarray,
                 labels: np.ndarray,
                 legend: Sequence[Tuple[str, Optional[Sequence[int]]]],
                 colours: np.ndarray,
                 alpha: float = 0.5,
                 font_size: Optional[int] = None) -> np.ndarray:
    """An image with its labels' colours blended in, and a legend: over
    the top-left corner of a large image, beside a small one (see
    :class:`LegendBox`).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` class indices.
        legend: ``(text, colour)`` per line (colour ``None``: no swatch).
        colours: ``(K, 3)`` uint8 colour of each class.
        alpha: Weight of the colours.
        font_size: Legend text size in pixels (default:
            :func:`legend_font_size` of the image).

    Returns:
        ``(H, W, 3)`` uint8 RGB with the legend over it, or
        ``(max(H, legend height), W + legend width, 3)`` with the image at
        the top left and the legend beside it.
    """
    height, width = labels.shape
    mixed = blend(image, colorize(labels, colours, None), alpha)
    font_size = font_size or legend_font_size(height, width)
    texts = [text for text, _ in legend]
    font = load_font(font_size, texts)
    box = legend_box(
        ImageDraw.Draw(Image.new('RGB', (1, 1))), texts, font, font_size,
        (height, width))
    if box.beside:
        canvas = np.full((max(height, box.height), width + box.width, 3), 255,
                         np.uint8)
        canvas[:height, :width] = mixed
        picture = Image.fromarray(canvas)
        left = width
    else:
        picture = Image.fromarray(mixed)
        left = 0
    del mixed
    draw = ImageDraw.Draw(picture, 'RGBA')
    if not box.beside:
        draw.rectangle((0, 0, box.width - 1, box.height - 1),
                       fill=(255, 255, 255, 200))
    pad, row = box.padding, box.row_height
    for i, (text, colour) in enumerate(legend):
        y = pad + i * row
        sy = y + (row - font_size) // 2
        x = left + pad
        if colour is not None:
            draw.rectangle((x, sy, x + font_size - 1, sy + font_size - 1),
                           fill=tuple(int(c) for c in colour),
                           outline=(64, 64, 64))
        draw.text((x + font_size + pad, sy), text, fill=(0, 0, 0), font=font)
    return np.asarray(picture)


def save_label_pictures(image: np.ndarray,
                        labels: np.ndarray,
                        legend: Sequence[Tuple[str, Optional[Sequence[int]]]],
                        colours: np.ndarray,
                        out_dir: str,
                        stem: str,
                        alpha: float = 0.5,
                        font_size: Optional[int] = None) -> Tuple[str, str]:
    """Writes ``<stem>_mask.png`` (the labels in ``colours``) and
    ``<stem>_overlay.png`` (see :func:`draw_overlay`).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` class indices.
        legend: ``(text, colour)`` per legend line.
        colours: ``(K, 3)`` uint8 colour of each class.
        out_dir: Output folder.
        stem: File name stem.
        alpha: Weight of the colours in the overlay.
        font_size: Legend text size in pixels (default: from the image's
            size).

    Returns:
        The mask and overlay paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    mask_path = osp.join(out_dir, f'{stem}_mask.png')
    overlay_path = osp.join(out_dir, f'{stem}_overlay.png')
    Image.fromarray(colorize(labels, colours, None)).save(mask_path)
    Image.fromarray(
        draw_overlay(image, labels, legend, colours, alpha,
                     font_size)).save(overlay_path)
    return mask_path, overlay_path
