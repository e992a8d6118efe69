"""Pictures of a dataset's predictions: an image, its ground truth and a
prediction side by side with a legend (``tools/visualize.py``). The
overlays of inference are :mod:`cascade_clip_runtime.drawing`'s."""
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cascade_clip_runtime.drawing import colorize, legend_font_size
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


def load_font(size: int, texts: Sequence[str] = ()) -> ImageFont.ImageFont:
    """The font of :func:`~cascade_clip.visualization.fonts.pick_font` for
    ``texts`` (DejaVu Sans unless it lacks a character) at ``size``
    pixels."""
    return pick_font(texts).load(size)


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
            :func:`~cascade_clip_runtime.drawing.legend_font_size` of the
            panels).
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
