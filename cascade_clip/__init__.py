"""Cascade-CLIP (ICML 2024) for MMSegmentation 1.x.

Importing the package registers its models, datasets, metrics and hooks in
mmseg's registries.
"""
import warnings

# mmcv-lite has no compiled ops and says so at import; nothing here uses them.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
