"""Pictures of a segmentation: the classes' colours, the coloured mask, the
overlay of an image with its labels and a legend of the classes by area,
and the label PNG whose pixel values are the class indices."""
import colorsys
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

# Legend lines of an overlay at most (the classes with the largest areas;
# one more line sums up the rest).
MAX_LEGEND_LINES = 20
Legend = Sequence[Tuple[str, Optional[Sequence[int]]]]
Palettes = Mapping[Tuple[str, ...], np.ndarray]


def class_colours(num_classes: int) -> np.ndarray:
    """``(K, 3)`` uint8 colours, well apart in hue (golden-ratio steps)."""
    colours = [
        colorsys.hsv_to_rgb((0.61803398875 * i) % 1.0, 0.65, 0.95)
        for i in range(num_classes)
    ]
    return (np.array(colours) * 255).round().astype(np.uint8)


def class_palette(class_names: Sequence[str],
                  palettes: Palettes = None) -> np.ndarray:
    """``(K, 3)`` uint8 colours of a class list: a dataset's colours for
    exactly its class list (``palettes``: class names -> colours), else
    :func:`class_colours`, so that every tool gives a class the same
    colour."""
    palette = (palettes or {}).get(tuple(str(n) for n in class_names))
    if palette is not None and len(palette) == len(class_names):
        return np.asarray(palette, np.uint8).reshape(-1, 3)
    return class_colours(len(class_names))


def colorize(labels: np.ndarray,
             colours: Sequence[Sequence[int]],
             ignore_index: Optional[int] = None) -> np.ndarray:
    """``(H, W)`` class indices to ``(H, W, 3)`` uint8 RGB; negative
    indices (unlabelled pixels), ``ignore_index`` (unless ``None``) and
    any index without a colour black."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in 'iu':
        labels = labels.astype(np.int64)
    # one row more than any index needs: -1 takes the last, a black one
    lut = np.zeros((max(256, len(colours),
                        int(labels.max(initial=0)) + 1) + 1, 3), np.uint8)
    lut[:len(colours)] = np.asarray(colours, np.uint8).reshape(-1, 3)
    if ignore_index is not None:
        lut[ignore_index] = 0
    return lut[labels]


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


def percent(share: float) -> str:
    """A share as the legend and the console write it: ``'12.3%'``, and
    ``'<0.1%'`` for a share that would round to zero."""
    return '<0.1%' if 0 < share < 0.0005 else f'{100 * share:.1f}%'


def legend_by_area(
    shares: Dict[str, float],
    colours: np.ndarray,
    max_lines: int = MAX_LEGEND_LINES,
    unlabelled: Optional[float] = None
) -> List[Tuple[str, Optional[np.ndarray]]]:
    """An overlay's legend from ``{name: share of the pixels}`` (in class
    order) and the classes' colours: ``(text, colour)`` for the classes
    present, the largest area first; past ``max_lines`` one line sums up
    the rest; last, without a swatch, ``unlabelled: N%`` where pixels were
    given no class."""
    names = list(shares)
    present = sorted(
        ((share, i) for i, share in enumerate(shares.values()) if share > 0),
        key=lambda item: (-item[0], item[1]))
    shown = present if len(present) <= max_lines else present[:max_lines - 1]
    lines = [(f'{names[i]}: {percent(share)}', colours[i])
             for share, i in shown]
    rest = present[len(shown):]
    if rest:
        lines.append((f'{len(rest)} more classes: '
                      f'{percent(sum(s for s, _ in rest))}', None))
    if unlabelled:
        lines.append((f'unlabelled: {percent(unlabelled)}', None))
    return lines


def load_font(path: Optional[str], size: int) -> Any:
    """The TrueType font file ``path`` at ``size`` pixels; Pillow's own
    font where there is none or it cannot be read."""
    from PIL import ImageFont
    if path is not None and osp.isfile(path):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def legend_font_size(height: int, width: int) -> int:
    """Legend text size for a picture of ``height x width``: 14 px up to a
    560 px shorter side, then 1/40 of it (75 px on a 4000 x 3000 photo)."""
    return max(14, round(min(height, width) / 40))


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


def legend_box(draw: Any, texts: Sequence[str], font: Any, font_size: int,
               image_size: Tuple[int, int]) -> LegendBox:
    """The :class:`LegendBox` of ``texts`` for an image ``(H, W)``
    (``draw``: a ``PIL.ImageDraw.ImageDraw`` to measure with)."""
    height, width = image_size
    probe = LegendBox(0, 0, font_size, False)
    text_width = max((draw.textlength(t, font=font) for t in texts), default=0)
    box_width = int(np.ceil(3 * probe.padding + font_size + text_width))
    box_height = 2 * probe.padding + probe.row_height * len(texts)
    beside = box_width > width // 2 or box_height > height // 2
    return LegendBox(box_width, box_height, font_size, beside)


def enlarged_for_legend(image: np.ndarray, labels: np.ndarray, legend: Legend,
                        font: Optional[str]) -> Tuple[np.ndarray, np.ndarray]:
    """A small image and its labels enlarged by the smallest whole factor
    (each pixel a square, as a viewer shows small pictures) that makes the
    image at least as tall as its overlay's legend; as they are where they
    are that tall already."""
    from PIL import Image, ImageDraw
    height, width = labels.shape
    texts = [text for text, _ in legend]
    measure = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    factor = 1
    while True:
        size = legend_font_size(factor * height, factor * width)
        box = legend_box(measure, texts, load_font(font, size), size,
                         (factor * height, factor * width))
        if not box.beside or box.height <= factor * height:
            break
        factor = max(factor + 1, -(-box.height // height))
    if factor == 1:
        return image, labels
    return (image.repeat(factor,
                         0).repeat(factor,
                                   1), labels.repeat(factor,
                                                     0).repeat(factor, 1))


def draw_overlay(image: np.ndarray,
                 labels: np.ndarray,
                 legend: Legend,
                 colours: np.ndarray,
                 alpha: float = 0.5,
                 font_size: Optional[int] = None,
                 font: Optional[str] = None) -> np.ndarray:
    """An image with its labels' colours blended in, and a legend: over
    the top-left corner of a large image, beside a small one (see
    :class:`LegendBox`). Unlabelled pixels (negative labels) keep the
    image's colours.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` class indices.
        legend: ``(text, colour)`` per line (colour ``None``: no swatch).
        colours: ``(K, 3)`` uint8 colour of each class.
        alpha: Weight of the colours.
        font_size: Legend text size in pixels (default:
            :func:`legend_font_size` of the image).
        font: A TrueType font file for the legend (default: Pillow's).

    Returns:
        ``(H, W, 3)`` uint8 RGB with the legend over it, or
        ``(max(H, legend height), W + legend width, 3)`` with the image at
        the top left and the legend beside it.
    """
    from PIL import Image, ImageDraw
    height, width = labels.shape
    mixed = blend(image, colorize(labels, colours), alpha)
    unlabelled = labels < 0
    if unlabelled.any():
        mixed[unlabelled] = image[unlabelled]
    del unlabelled
    font_size = font_size or legend_font_size(height, width)
    texts = [text for text, _ in legend]
    loaded = load_font(font, font_size)
    box = legend_box(
        ImageDraw.Draw(Image.new('RGB', (1, 1))), texts, loaded, font_size,
        (height, width))
    if box.beside:
        canvas = np.full((max(height, box.height), width + box.width, 3), 255,
                         np.uint8)
        canvas[:height, :width] = mixed
        picture, left = Image.fromarray(canvas), width
    else:
        picture, left = Image.fromarray(mixed), 0
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
        draw.text((x + font_size + pad, sy), text, fill=(0, 0, 0), font=loaded)
    return np.asarray(picture)


def save_label_pictures(image: np.ndarray,
                        labels: np.ndarray,
                        legend: Legend,
                        colours: np.ndarray,
                        out_dir: str,
                        stem: str,
                        alpha: float = 0.5,
                        font_size: Optional[int] = None,
                        font: Optional[str] = None,
                        fit_legend: bool = False) -> Tuple[str, str]:
    """Writes ``<stem>_mask.png`` (the labels in ``colours``) and
    ``<stem>_overlay.png`` (see :func:`draw_overlay`) into ``out_dir``;
    returns their paths.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` class indices.
        legend: ``(text, colour)`` per legend line.
        colours: ``(K, 3)`` uint8 colour of each class.
        out_dir: Output folder (made if missing).
        stem: File name stem.
        alpha: Weight of the colours in the overlay.
        font_size: Legend text size in pixels (default: from the image's
            size).
        font: The legend's TrueType font file (default: Pillow's).
        fit_legend: Draw the overlay of a small image enlarged to at least
            its legend's height (:func:`enlarged_for_legend`; a web page);
            by default at the image's size.
    """
    from PIL import Image
    os.makedirs(out_dir, exist_ok=True)
    mask_path = osp.join(out_dir, f'{stem}_mask.png')
    overlay_path = osp.join(out_dir, f'{stem}_overlay.png')
    Image.fromarray(colorize(labels, colours)).save(mask_path)
    if fit_legend and font_size is None:
        image, labels = enlarged_for_legend(image, labels, legend, font)
    Image.fromarray(
        draw_overlay(image, labels, legend, colours, alpha, font_size,
                     font)).save(overlay_path)
    return mask_path, overlay_path


def label_png_value(num_classes: int) -> int:
    """The pixel value of an unlabelled pixel in a label PNG of
    ``num_classes`` classes: 255 (8-bit, up to 255 classes), else 65535
    (16-bit)."""
    return 255 if num_classes <= 255 else 65535


def write_label_png(labels: np.ndarray, colours: np.ndarray, path: str) -> str:
    """Writes ``(H, W)`` class indices as a PNG whose pixel values are the
    indices: 8-bit with the classes' colours as its palette (a viewer shows
    the coloured mask; unlabelled pixels 255, black) up to 255 classes,
    16-bit grey beyond (unlabelled 65535)."""
    from PIL import Image
    unlabelled = label_png_value(len(colours))
    labels = np.where(labels < 0, unlabelled, labels)
    if unlabelled == 255:
        picture = Image.fromarray(labels.astype(np.uint8))
        palette = np.zeros((256, 3), np.uint8)
        palette[:len(colours)] = colours
        picture.putpalette(palette.ravel().tolist())
    else:
        picture = Image.fromarray(labels.astype(np.uint16))
    picture.save(path)
    return path
