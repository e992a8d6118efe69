"""Drawing: pictures of segmentations and charts of per-class IoU. Nothing
here builds or runs a model."""
from ..structures.palettes import class_colours
from .fonts import FontChoice, font_note, pick_font
from .iou_chart import (MAX_VERTICAL_BARS, MISSING_COLOUR, OTHER_COLOUR,
                        SEEN_COLOUR, UNSEEN_COLOUR, IoUChart, chart_title,
                        draw_iou_chart, plot_iou_chart, read_metrics)
from .legends import MAX_LEGEND_LINES, legend_by_area, legend_lines
from .pictures import (CAPTIONS, UNSEEN_MARK, LegendBox, StripLayout, blend,
                       colorize, compose_picture, draw_overlay, fit_text,
                       legend_box, legend_entries, legend_font_size,
                       legend_strip_height, load_font, resize_labels,
                       save_label_pictures)

__all__ = [
    'CAPTIONS', 'UNSEEN_MARK', 'MAX_LEGEND_LINES', 'legend_by_area',
    'legend_lines', 'FontChoice', 'LegendBox', 'StripLayout', 'blend',
    'class_colours', 'colorize', 'compose_picture', 'draw_overlay', 'fit_text',
    'font_note', 'legend_box', 'legend_entries', 'legend_font_size',
    'legend_strip_height', 'load_font', 'pick_font', 'resize_labels',
    'save_label_pictures', 'MAX_VERTICAL_BARS', 'MISSING_COLOUR',
    'OTHER_COLOUR', 'SEEN_COLOUR', 'UNSEEN_COLOUR', 'IoUChart', 'chart_title',
    'draw_iou_chart', 'plot_iou_chart', 'read_metrics'
]
