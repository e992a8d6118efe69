"""Kept only for ``apis/demo.py`` until the demo moves out of ``apis/``:
drawing is in :mod:`cascade_clip.visualization`, pictures of a model's
predictions in :mod:`cascade_clip.apis.predictions`."""
from ..visualization import plot_iou_chart  # noqa: F401
from .predictions import visualize_predictions  # noqa: F401
