"""Cascade-CLIP (ICML 2024) for MMSegmentation 1.x.

Importing the package registers its models, datasets, metrics and hooks in
mmseg's registries, and changes nothing else: no warning filter, library
function or allow-list stays changed (the tools set up their own
processes).
"""
import importlib.util
import io
import sys
import types
import warnings
from contextlib import redirect_stdout


class _DeferredModule(types.ModuleType):
    """A module whose code runs at the first use of an attribute that it
    does not have yet (its name, file, path and spec it has from the start,
    so that importing it, or a submodule of it, and looking it up do not
    run it)."""

    def __getattr__(self, name: str):
        self.__class__ = types.ModuleType
        self.__spec__.loader.exec_module(self)
        return getattr(self, name)


def _defer_timm() -> None:
    """Lets timm load at its first use instead of inside mmseg's import.

    mmseg's ``TIMMBackbone`` module imports timm wherever it is installed
    (open_clip brings it), and this package needs ``mmseg.models``: timm's
    import took 0.75 s more and, through ``torch._dynamo``, added a torch
    safe global. timm's module, put in ``sys.modules`` before mmseg's
    import, runs its code at the first use of one of its attributes (by
    ``TIMMBackbone`` or anyone else); it is the same module object then.
    Nothing is done where timm is missing or already imported.
    """
    if 'timm' in sys.modules:
        return
    spec = importlib.util.find_spec('timm')
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _DeferredModule
    sys.modules['timm'] = module


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
            _defer_timm()
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
