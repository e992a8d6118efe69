"""Drawing: pictures of a dataset's predictions, charts of per-class IoU
and the font of the legends. Nothing here builds or runs a model; the
overlays of inference are :mod:`cascade_clip_runtime.drawing`'s."""
from .fonts import FontChoice, font_note, pick_font
from .iou_chart import (MAX_VERTICAL_BARS, MISSING_COLOUR, OTHER_COLOUR,
                        SEEN_COLOUR, UNSEEN_COLOUR, IoUChart, chart_title,
                        draw_iou_chart, plot_iou_chart, read_metrics)
from .pictures import (CAPTIONS, UNSEEN_MARK, StripLayout, compose_picture,
                       fit_text, legend_entries, legend_strip_height,
                       load_font, resize_labels)

__all__ = [
    'CAPTIONS', 'UNSEEN_MARK', 'FontChoice', 'StripLayout', 'compose_picture',
    'fit_text', 'font_note', 'legend_entries', 'legend_strip_height',
    'load_font', 'pick_font', 'resize_labels', 'MAX_VERTICAL_BARS',
    'MISSING_COLOUR', 'OTHER_COLOUR', 'SEEN_COLOUR', 'UNSEEN_COLOUR',
    'IoUChart', 'chart_title', 'draw_iou_chart', 'plot_iou_chart',
    'read_metrics'
]
