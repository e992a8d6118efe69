"""Cascade-CLIP (ICML 2024) for MMSegmentation 1.x.

Importing the package registers its models, datasets, metrics and hooks in
mmseg's registries; except while ``python -m
cascade_clip.deploy.onnx_runtime`` imports it to find that module: the
deployment runtime runs without torch and mmseg (docs/deployment.md).
"""
import logging
import sys
import warnings

# mmcv-lite has no compiled ops and says so at import; nothing here uses them.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
# mmseg's visualization hook warns at every run that it is off (its default).
warnings.filterwarnings('ignore', message='The draw is False')


def _import_mmseg_datasets_quietly() -> None:
    """Imports mmseg's datasets without the line 'Could not import OneDL'
    that the onedl fork of mmseg prints there (a DEBUG message given no
    logger, so ``print``-ed); every other message passes."""
    import mmengine.logging
    print_log = mmengine.logging.print_log

    def without_onedl_notice(msg, logger=None, level=logging.INFO):
        if msg == 'Could not import OneDL' and logger is None:
            return
        print_log(msg, logger, level)

    mmengine.logging.print_log = without_onedl_notice
    try:
        import mmseg.datasets  # noqa: F401
    finally:
        mmengine.logging.print_log = print_log


DEPLOY_RUNTIME = 'cascade_clip.deploy.onnx_runtime'


def _finding_deploy_runtime() -> bool:
    """Whether ``python -m cascade_clip.deploy.onnx_runtime`` is importing
    the package to find that module (Python sets ``sys.argv[0]`` to
    ``'-m'`` while it does)."""
    if sys.argv[:1] != ['-m']:
        return False
    argv = list(getattr(sys, 'orig_argv', ()))
    for i, arg in enumerate(argv):
        if arg.startswith('-m'):
            module = arg[2:] or (argv[i + 1] if i + 1 < len(argv) else '')
            return module == DEPLOY_RUNTIME
    return False


if not _finding_deploy_runtime():
    _import_mmseg_datasets_quietly()
    from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
