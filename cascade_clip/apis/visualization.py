"""Pictures of a model's predictions and charts of a test run's per-class
IoU; ``tools/visualize.py`` is a thin layer over these functions.

- :func:`visualize_predictions`: for the first images of a split, one PNG
  each with the image, the ground truth and the prediction side by side at
  the image's size, and below them a strip with the panel captions and a
  legend of the classes shown (unseen ones marked).
- :func:`plot_iou_chart`: a bar chart of the per-class IoU in a
  ``zero_shot_metrics.json``, seen and unseen classes in two colours.
"""
import copy
import json
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from matplotlib.figure import Figure
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from PIL import Image, ImageDraw, ImageFont

from .experiment import load_config

SPLITS = ('val', 'train')
CAPTIONS = ('image', 'ground truth', 'prediction')
UNSEEN_MARK = ' (unseen)'
SEEN_COLOUR = '#1f77b4'
UNSEEN_COLOUR = '#ff7f0e'
OTHER_COLOUR = '#7f7f7f'
MISSING_COLOUR = '#d62728'
# At most this many classes are drawn as vertical bars; more as horizontal.
MAX_VERTICAL_BARS = 24


# ------------------------------------------------------------------ pictures
@dataclass
class PredictionPicture:
    """What :func:`visualize_predictions` wrote for one image.

    Attributes:
        path: The PNG written.
        img_path: The image it shows.
        image_size: ``(H, W)`` of the image, hence of each panel.
        legend: The legend's entries in class order, e.g. ``'sheep
            (unseen)'``: the classes in the ground truth or the prediction.
        gt_classes: Class ids in the ground truth (ignored pixels left out).
        pred_classes: Class ids in the prediction.
    """
    path: str
    img_path: str
    image_size: Tuple[int, int]
    legend: List[str] = field(default_factory=list)
    gt_classes: List[int] = field(default_factory=list)
    pred_classes: List[int] = field(default_factory=list)


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


def _find_pipeline(dataset_cfg: dict) -> Optional[list]:
    """The first ``pipeline`` in a (possibly wrapped) dataset config."""
    if dataset_cfg.get('pipeline') is not None:
        return dataset_cfg['pipeline']
    inner = list(dataset_cfg.get('datasets') or [])
    if dataset_cfg.get('dataset') is not None:
        inner.append(dataset_cfg['dataset'])
    for sub in inner:
        found = _find_pipeline(sub)
        if found is not None:
            return found
    return None


def _set_pipeline(dataset_cfg: dict, pipeline: list) -> None:
    """Gives every leaf dataset of a (wrapped) dataset config the
    pipeline: through ``ConcatDataset``'s ``datasets`` and
    ``RepeatDataset``'s ``dataset``."""
    wrapped = list(dataset_cfg.get('datasets') or [])
    if dataset_cfg.get('dataset') is not None:
        wrapped.append(dataset_cfg['dataset'])
    if wrapped:
        for sub in wrapped:
            _set_pipeline(sub, pipeline)
    else:
        dataset_cfg['pipeline'] = copy.deepcopy(pipeline)


def build_split_dataset(cfg: Config, split: str = 'val'):
    """The ``val`` or ``train`` dataset of a config, loaded with the val
    dataloader's (test) pipeline so that images are not augmented.

    Raises:
        ValueError: for another split, or a config without the dataloader.
    """
    from mmseg.registry import DATASETS
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, not {split!r}')
    for key in ('val_dataloader', f'{split}_dataloader'):
        if not cfg.get(key):
            raise ValueError(f'the config has no {key}')
    pipeline = _find_pipeline(cfg.val_dataloader.dataset)
    if pipeline is None:
        raise ValueError('the config\'s val_dataloader.dataset has no '
                         'pipeline to load images with')
    dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    _set_pipeline(dataset_cfg, pipeline)
    return DATASETS.build(dataset_cfg)


def load_model(cfg: Config,
               checkpoint: str,
               device: Optional[str] = None) -> torch.nn.Module:
    """The config's model with the checkpoint's weights (this project's or
    the paper's), in eval mode on ``device`` (default: CUDA if available)."""
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    # Every weight comes from the checkpoint; CLIP's file is not needed.
    model_cfg['pretrained'] = None
    model = MODELS.build(model_cfg)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return model.to(device).eval()


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


def _label_at(label: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """A label map resized (nearest) to ``shape`` if it is not that size."""
    if label.shape == tuple(shape):
        return label
    return mmcv.imresize(
        label.astype(np.uint8), (shape[1], shape[0]),
        interpolation='nearest')


def _class_ids(label: np.ndarray, ignore_index: int) -> List[int]:
    return [int(i) for i in np.unique(label) if i != ignore_index]


def visualize_predictions(config: Union[str, Config],
                          checkpoint: str,
                          split: str = 'val',
                          num: int = 8,
                          out_dir: Optional[str] = None,
                          cfg_options: Optional[dict] = None,
                          device: Optional[str] = None,
                          font_size: int = 14) -> List[PredictionPicture]:
    """Writes a picture of the model's prediction for each of the first
    ``num`` images of a split (see :func:`compose_picture`).

    Args:
        config: Config file (or ``Config``).
        checkpoint: Weights to run.
        split: ``'val'`` or ``'train'``; either is loaded with the val
            dataloader's pipeline.
        num: How many images (all if the split has fewer).
        out_dir: Where the PNGs go (default
            ``work_dirs/<config name>/vis_<split>``); each is named
            ``<position in the split>_<image name>.png``.
        cfg_options: Config overrides, as ``--cfg-options`` gives them.
        device: ``'cuda'``, ``'cpu'``...; default CUDA if available.
        font_size: Pixel size of the captions and the legend.

    Returns:
        One record per picture, in the split's order; ``.path`` is the file
        written.
    """
    if num < 1:
        raise ValueError(f'num must be at least 1, got {num}')
    cfg = load_config(config, cfg_options)
    if out_dir is None:
        name = (osp.splitext(osp.basename(config))[0] if isinstance(
            config, str) else 'config')
        out_dir = osp.join(cfg.get('work_dir') or osp.join('work_dirs', name),
                           f'vis_{split}')
    dataset = build_split_dataset(cfg, split)
    class_names = list(dataset.metainfo['classes'])
    palette = dataset.metainfo['palette']
    model = load_model(cfg, checkpoint, device)
    if model.num_classes != len(class_names):
        raise ValueError(f'the model has {model.num_classes} classes but the '
                         f'{split} dataset {len(class_names)}')
    os.makedirs(out_dir, exist_ok=True)

    pictures = []
    for index in range(min(num, len(dataset))):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[index]]))[0]
        img_path = sample.img_path
        image = mmcv.imread(img_path, channel_order='rgb')
        shape = image.shape[:2]
        pred = _label_at(sample.pred_sem_seg.data[0].cpu().numpy(), shape)
        if 'gt_sem_seg' in sample:
            gt = _label_at(sample.gt_sem_seg.data[0].cpu().numpy(), shape)
        else:
            gt = np.full(shape, model.ignore_index, np.uint8)
        canvas, entries = compose_picture(image, gt, pred, class_names,
                                          palette, model.unseen_classes,
                                          model.ignore_index, font_size)
        stem = osp.splitext(osp.basename(img_path))[0]
        path = osp.join(out_dir, f'{index:04d}_{stem}.png')
        Image.fromarray(canvas).save(path)
        pictures.append(
            PredictionPicture(path, img_path, shape, entries,
                              _class_ids(gt, model.ignore_index),
                              _class_ids(pred, model.ignore_index)))
    return pictures


# -------------------------------------------------------------- IoU charts
@dataclass
class IoUChart:
    """What :func:`plot_iou_chart` wrote: the PNG's path and the figure."""
    path: str
    figure: Figure


def read_metrics(path: str) -> dict:
    """Reads and checks a ``zero_shot_metrics.json``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not JSON, or lacks ``summary`` or ``per_class``,
            or a class lacks ``name`` or ``IoU``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'metrics JSON not found: {path}')
    with open(path) as f:
        try:
            metrics = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f'{path} is not valid JSON: {error}') from None
    hint = ('expected the zero_shot_metrics.json that tools/test.py writes '
            'into the work dir')
    if not isinstance(metrics, dict):
        raise ValueError(f'{path} holds a {type(metrics).__name__}, not an '
                         f'object; {hint}')
    for key, kind in (('per_class', list), ('summary', dict)):
        if key not in metrics:
            raise ValueError(f'{path} has no "{key}" key; {hint}')
        if not isinstance(metrics[key], kind):
            raise ValueError(f'"{key}" in {path} must be a {kind.__name__}')
    for n, row in enumerate(metrics['per_class']):
        missing = [k for k in ('name', 'IoU') if k not in row]
        if missing:
            raise ValueError(f'per_class[{n}] in {path} has no '
                             f'{" or ".join(missing)}')
    return metrics


def _number(value) -> str:
    return 'n/a' if value is None else f'{float(value):.2f}'


def chart_title(summary: Dict[str, Optional[float]]) -> str:
    """``mIoU(S) 1.00 | mIoU(U) 2.00 | hIoU 1.33``, or without unseen
    classes (cross-dataset) ``mIoU(S) 1.00 | mIoU 1.00``."""
    if 'mIoU_unseen' in summary or 'hIoU' in summary:
        keys = (('mIoU(S)', 'mIoU_seen'), ('mIoU(U)', 'mIoU_unseen'),
                ('hIoU', 'hIoU'))
    else:
        keys = (('mIoU(S)', 'mIoU_seen'), ('mIoU', 'mIoU'))
    return ' | '.join(f'{label} {_number(summary.get(key))}'
                      for label, key in keys)


def draw_iou_chart(metrics: dict, name: Optional[str] = None) -> Figure:
    """A bar chart of the per-class IoU of a metrics dict (as
    :func:`read_metrics` returns it): one bar per class in class order,
    seen / unseen / other classes in their own colours, a cross at 0 for a
    class without an IoU. Vertical bars for at most
    ``MAX_VERTICAL_BARS`` classes, else horizontal ones in a figure whose
    height grows with the number of classes.

    Args:
        metrics: ``summary`` and ``per_class`` of a test run.
        name: First line of the title (e.g. the run's name).

    Returns:
        The matplotlib ``Figure`` (Agg canvas); its axes' patches are the
        bars.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = metrics['per_class']
    summary = metrics['summary']
    count = len(rows)
    names = [str(row['name']) for row in rows]
    missing = [row['IoU'] is None for row in rows]
    values = [0.0 if m else float(row['IoU']) for m, row in zip(missing, rows)]
    by_split = {'seen': SEEN_COLOUR, 'unseen': UNSEEN_COLOUR}
    colours = [by_split.get(row.get('split'), OTHER_COLOUR) for row in rows]
    positions = np.arange(count)
    vertical = count <= MAX_VERTICAL_BARS

    if vertical:
        size = (max(5.0, 0.5 * count + 2.5), 5.0)
    else:
        size = (9.0, max(4.0, 0.22 * count + 1.5))
    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    missing_at = positions[np.asarray(missing, bool)]
    if vertical:
        ax.bar(positions, values, width=0.7, color=colours)
        ax.set_xticks(positions, names, rotation=45, ha='right', fontsize=9)
        ax.set_ylim(0, 108)
        ax.set_xlim(-0.6, count - 0.4)
        ax.set_ylabel('IoU (%)')
        ax.grid(axis='y', alpha=0.3)
        for x, value, miss in zip(positions, values, missing):
            # n/a clears the cross drawn at 0
            ax.text(x, 4 if miss else value + 1,
                    'n/a' if miss else f'{value:.1f}',
                    ha='center', va='bottom', fontsize=7)
        if len(missing_at):
            ax.plot(missing_at, np.zeros(len(missing_at)), 'x',
                    color=MISSING_COLOUR, markersize=8, clip_on=False)
    else:
        ax.barh(positions, values, height=0.7, color=colours)
        ax.set_yticks(positions, names, fontsize=9)
        ax.set_ylim(count - 0.4, -0.6)
        ax.set_xlim(0, 108)
        ax.set_xlabel('IoU (%)')
        ax.grid(axis='x', alpha=0.3)
        ax.tick_params(labeltop=True, top=True)
        for y, value, miss in zip(positions, values, missing):
            ax.text(2.5 if miss else value + 0.8, y,
                    'n/a' if miss else f'{value:.1f}',
                    ha='left', va='center', fontsize=7)
        if len(missing_at):
            ax.plot(np.zeros(len(missing_at)), missing_at, 'x',
                    color=MISSING_COLOUR, markersize=8, clip_on=False)

    splits = [row.get('split') for row in rows]
    handles = [Patch(color=SEEN_COLOUR, label='seen')]
    if 'unseen' in splits:
        handles.append(Patch(color=UNSEEN_COLOUR, label='unseen'))
    if any(s not in by_split for s in splits):
        handles.append(Patch(color=OTHER_COLOUR, label='neither split'))
    if any(missing):
        handles.append(
            Line2D([], [],
                   marker='x',
                   linestyle='none',
                   color=MISSING_COLOUR,
                   label='no IoU (class absent)'))
    ax.legend(
        handles=handles,
        loc='upper left',
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9,
        frameon=False)
    title = chart_title(summary)
    ax.set_title(f'{name}\n{title}' if name else title, fontsize=11)
    figure.tight_layout()
    return figure


def plot_iou_chart(metrics_json: str,
                   out: Optional[str] = None,
                   name: Optional[str] = None) -> IoUChart:
    """Draws :func:`draw_iou_chart` of a ``zero_shot_metrics.json`` into a
    PNG.

    Args:
        metrics_json: The JSON a test run wrote.
        out: The PNG (default: beside the JSON, ``<json name>_iou.png``).
        name: First line of the title (default: the JSON's folder, the run's
            work dir).

    Returns:
        The path written and the figure.
    """
    metrics = read_metrics(metrics_json)
    if out is None:
        out = osp.splitext(metrics_json)[0] + '_iou.png'
    if name is None:
        name = osp.basename(osp.dirname(osp.abspath(metrics_json)))
    figure = draw_iou_chart(metrics, name)
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    figure.savefig(out, bbox_inches='tight')
    return IoUChart(out, figure)
