"""Cascade-CLIP (ICML 2024) for MMSegmentation 1.x.

Importing the package registers its models, datasets, metrics and hooks in
mmseg's registries.
"""
from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
