"""Pictures of segmentations: label maps in class colours, an image, its
ground truth and a prediction side by side with a legend, and overlays of
an image with its labels and their shares."""
import colorsys
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import mmcv
import numpy as np
from PIL import Image, ImageDraw, ImageFont

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
             ignore_index: int = 255) -> np.ndarray:
    """``(H, W)`` class ids to ``(H, W, 3)`` uint8 RGB with the palette;
    ``ignore_index`` (and any id without a colour) black."""
    label = np.asarray(label, dtype=np.int64)
    lut = np.zeros((max(256, len(palette), int(label.max(initial=0)) + 1), 3),
                   np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8).reshape(-1, 3)
    lut[ignore_index] = 0
    return lut[label]


def load_font(size: int) -> ImageFont.ImageFont:
    """DejaVu Sans (shipped with matplotlib) at ``size`` pixels, else PIL's
    default font."""
    try:
        from matplotlib import font_manager
        path = font_manager.findfont(
            font_manager.FontProperties(family='DejaVu Sans'),
            fallback_to_default=True)
        return ImageFont.truetype(path, size)
    except (ImportError, OSError, ValueError):
        return ImageFont.load_default(size)


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
        labels.astype(np.uint8), (shape[1], shape[0]),
        interpolation='nearest')


def legend_entries(class_ids: Sequence[int], class_names: Sequence[str],
                   unseen_classes: Sequence[int]) -> List[str]:
    """Legend texts of the classes, ``'name (unseen)'`` for unseen ones."""
    unseen = set(int(i) for i in unseen_classes)
    return [
        str(class_names[i]) + (UNSEEN_MARK if i in unseen else '')
        for i in class_ids
    ]


def compose_picture(image: np.ndarray,
                    gt: np.ndarray,
                    pred: np.ndarray,
                    class_names: Sequence[str],
                    palette: Sequence[Sequence[int]],
                    unseen_classes: Sequence[int] = (),
                    ignore_index: int = 255,
                    font_size: int = 14) -> Tuple[np.ndarray, List[str]]:
    """The picture of one image and its legend entries.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        gt: ``(H, W)`` ground-truth class ids, ``ignore_index`` where none.
        pred: ``(H, W)`` predicted class ids.
        class_names: The dataset's classes.
        palette: One RGB colour per class.
        unseen_classes: Ids marked "(unseen)" in the legend.
        ignore_index: Label value drawn black and left out of the legend.
        font_size: Pixel size of the strip's text.

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

    layout = StripLayout(3 * width, len(entries), font_size)
    canvas = np.full((height + layout.height, 3 * width, 3), 255, np.uint8)
    canvas[:height, :width] = image
    canvas[:height, width:2 * width] = colorize(gt, palette, ignore_index)
    canvas[:height, 2 * width:] = colorize(pred, palette, ignore_index)

    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    font = load_font(font_size)
    text_dy = (layout.row_height - font_size) // 2
    top = height + layout.padding
    gt_caption = CAPTIONS[1]
    if (gt == ignore_index).any():
        gt_caption += ' (black: ignored)'
    for k, caption in enumerate((CAPTIONS[0], gt_caption, CAPTIONS[2])):
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


def class_colours(num_classes: int) -> np.ndarray:
    """``(K, 3)`` uint8 colours, well apart in hue (golden-ratio steps)."""
    colours = [
        colorsys.hsv_to_rgb((0.61803398875 * i) % 1.0, 0.65, 0.95)
        for i in range(num_classes)
    ]
    return (np.array(colours) * 255).round().astype(np.uint8)


def draw_overlay(image: np.ndarray,
                 labels: np.ndarray,
                 legend: Sequence[str],
                 colours: np.ndarray,
                 alpha: float = 0.5,
                 font_size: int = 14) -> np.ndarray:
    """An image with its labels' colours blended in and a legend in the
    top-left corner.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` class indices.
        legend: One line per class, in class order.
        colours: ``(K, 3)`` uint8 colour of each class.
        alpha: Weight of the colours.
        font_size: Legend text size in pixels.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    mask = colorize(labels, colours)
    overlay = Image.fromarray((alpha * mask + (1 - alpha) *
                               image.astype(np.float32)).round().astype(
                                   np.uint8))
    draw = ImageDraw.Draw(overlay, 'RGBA')
    font = load_font(font_size)
    row = font_size + 4
    box_width = min(
        overlay.width,
        int(max(draw.textlength(t, font=font) for t in legend)) + row + 12)
    draw.rectangle((0, 0, box_width, row * len(legend) + 6),
                   fill=(255, 255, 255, 200))
    for i, (text, colour) in enumerate(zip(legend, colours)):
        y = 4 + i * row
        draw.rectangle((4, y + 2, 4 + font_size - 2, y + font_size),
                       fill=tuple(int(c) for c in colour),
                       outline=(64, 64, 64))
        draw.text((font_size + 8, y),
                  fit_text(draw, text, font, box_width - font_size - 12),
                  fill=(0, 0, 0),
                  font=font)
    return np.asarray(overlay)


def save_label_pictures(image: np.ndarray,
                        labels: np.ndarray,
                        legend: Sequence[str],
                        out_dir: str,
                        stem: str,
                        alpha: float = 0.5,
                        font_size: int = 14) -> Tuple[str, str]:
    """Writes ``<stem>_mask.png`` (the labels in :func:`class_colours`) and
    ``<stem>_overlay.png`` (see :func:`draw_overlay`), both at the image's
    size.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` class indices.
        legend: One line per class, in class order.
        out_dir: Output folder.
        stem: File name stem.
        alpha: Weight of the colours in the overlay.
        font_size: Legend text size in pixels.

    Returns:
        The mask and overlay paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    colours = class_colours(len(legend))
    mask_path = osp.join(out_dir, f'{stem}_mask.png')
    overlay_path = osp.join(out_dir, f'{stem}_overlay.png')
    Image.fromarray(colorize(labels, colours)).save(mask_path)
    Image.fromarray(
        draw_overlay(image, labels, legend, colours, alpha,
                     font_size)).save(overlay_path)
    return mask_path, overlay_path
