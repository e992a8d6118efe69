"""Cascade-CLIP (ICML 2024) for MMSegmentation 1.x.

Importing the package checks the mmengine version (see
:mod:`.mmengine_private`), registers its models, datasets, metrics and
hooks in mmseg's registries, and changes nothing else: no warning filter,
library function or allow-list stays changed (the tools set up their own
processes).
"""
from .mmengine_private import import_mmseg_quietly

import_mmseg_quietly()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
