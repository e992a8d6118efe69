"""Bar charts of the per-class IoU that a test run writes
(``zero_shot_metrics.json``), seen and unseen classes in two colours."""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
from matplotlib.figure import Figure

SEEN_COLOUR = '#1f77b4'
UNSEEN_COLOUR = '#ff7f0e'
OTHER_COLOUR = '#7f7f7f'
MISSING_COLOUR = '#d62728'
# At most this many classes are drawn as vertical bars; more as horizontal.
MAX_VERTICAL_BARS = 24


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
        keys = (('mIoU(S)', 'mIoU_seen'), ('mIoU(U)', 'mIoU_unseen'), ('hIoU',
                                                                       'hIoU'))
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
            ax.text(
                x,
                4 if miss else value + 1,
                'n/a' if miss else f'{value:.1f}',
                ha='center',
                va='bottom',
                fontsize=7)
        if len(missing_at):
            ax.plot(
                missing_at,
                np.zeros(len(missing_at)),
                'x',
                color=MISSING_COLOUR,
                markersize=8,
                clip_on=False)
    else:
        ax.barh(positions, values, height=0.7, color=colours)
        ax.set_yticks(positions, names, fontsize=9)
        ax.set_ylim(count - 0.4, -0.6)
        ax.set_xlim(0, 108)
        ax.set_xlabel('IoU (%)')
        ax.grid(axis='x', alpha=0.3)
        ax.tick_params(labeltop=True, top=True)
        for y, value, miss in zip(positions, values, missing):
            ax.text(
                2.5 if miss else value + 0.8,
                y,
                'n/a' if miss else f'{value:.1f}',
                ha='left',
                va='center',
                fontsize=7)
        if len(missing_at):
            ax.plot(
                np.zeros(len(missing_at)),
                missing_at,
                'x',
                color=MISSING_COLOUR,
                markersize=8,
                clip_on=False)

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
