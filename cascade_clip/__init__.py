"""Cascade-CLIP (ICML 2024) for MMSegmentation 1.x.

Importing the package registers its models, datasets, metrics and hooks in
mmseg's registries, and changes nothing else: no warning filter, library
function or allow-list stays changed (the tools set up their own
processes).
"""
import io
import sys
import warnings
from contextlib import redirect_stdout


def _import_mmseg_quietly() -> None:
    """Imports the parts of mmcv and mmseg this package builds on without
    two notices they give at import, neither of which concerns it: mmcv-lite
    warns that its compiled ops are missing (nothing here uses them), and
    the onedl fork of mmseg prints 'Could not import OneDL'. Both are
    silenced inside this block only: the warning filters are restored
    after it, and of what is printed in it only those lines are held
    back."""
    printed = io.StringIO()
    try:
        with warnings.catch_warnings(), redirect_stdout(printed):
            warnings.filterwarnings(
                'ignore',
                message='Fail to import ``MultiScaleDeformableAttention``')
            import mmcv.cnn.bricks  # noqa: F401
            import mmseg.datasets  # noqa: F401
            import mmseg.models  # noqa: F401
    finally:
        kept = [
            line for line in printed.getvalue().splitlines(True)
            if line.strip() != 'Could not import OneDL'
        ]
        sys.stdout.write(''.join(kept))


_import_mmseg_quietly()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
