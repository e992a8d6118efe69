"""Everything this package relies on in mmengine (and, while it imports
them, mmcv and mmseg) beyond their public API, in one place, behind a check
of the installed mmengine version.

A new mmengine may rename or drop any of it without notice; importing the
package with a version other than :data:`SUPPORTED_MMENGINE` therefore
fails at once with one line (:func:`check_mmengine_version`), and
``tests/test_mmengine_private.py`` checks each use below against the
installed mmengine.

- :class:`EnvironmentLogRunner`: the runner logs the environment and the
  config at its start in the private ``Runner._log_env``.
- :func:`config_text_key`: what ``Config.pretty_text`` formats, the private
  ``Config._cfg_dict`` and ``Config._format_python_code``.
- :func:`share_config`: a config of another ``Config`` class holding the
  same content, through ``Config``'s private attributes.
- :func:`printed_lines_dropped`: mmengine's runner prints (``print``, not
  its logger) ``Loads checkpoint by local backend from path: X`` when it
  loads a checkpoint (:data:`CHECKPOINT_PRINT`).
- :func:`import_mmseg_quietly`: mmcv-lite warns at import that its compiled
  ops are missing, and the onedl fork of mmseg prints ``Could not import
  OneDL``; it also imports timm wherever timm is installed, which
  :func:`defer_timm` puts off to timm's first use.
"""
import importlib.util
import io
import sys
import types
import warnings
from contextlib import contextmanager, nullcontext, redirect_stdout
from typing import ContextManager, Iterator, Sequence, Type, TypeVar

import mmengine

# The versions whose private parts this module was checked against (the
# pin in requirements.txt).
SUPPORTED_MMENGINE = ('0.10.7', )
# What mmengine's runner prints when it loads a checkpoint.
CHECKPOINT_PRINT = 'Loads checkpoint by '
# What the onedl fork of mmseg prints at import.
ONEDL_PRINT = 'Could not import OneDL'


def check_mmengine_version(version: str = mmengine.__version__) -> None:
    """Raises ``ImportError`` (one line naming ``version`` and the supported
    versions) unless ``version`` is one of :data:`SUPPORTED_MMENGINE`."""
    if version not in SUPPORTED_MMENGINE:
        supported = ', '.join(SUPPORTED_MMENGINE)
        raise ImportError(
            f'cascade_clip supports mmengine {supported} only (it uses '
            f'private parts of mmengine), but mmengine {version} is '
            f'installed: pip install mmengine=={SUPPORTED_MMENGINE[-1]}')


# before anything else of mmengine is imported
check_mmengine_version()

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

AnyConfig = TypeVar('AnyConfig', bound=Config)


class EnvironmentLogRunner(Runner):
    """mmengine's ``Runner``, whose logging of the environment and the
    config at its start runs inside :meth:`environment_log`."""

    def environment_log(self) -> ContextManager:
        """The context of the environment and config log (a subclass
        gives one; here none)."""
        return nullcontext()

    def _log_env(self, env_cfg: dict) -> None:
        with self.environment_log():
            super()._log_env(env_cfg)


def config_text_key(cfg: Config) -> tuple:
    """What ``cfg.pretty_text`` depends on: its content (as the ``repr`` of
    plain dicts) and whether it is formatted as Python code."""
    return (repr(cfg._cfg_dict.to_dict()), cfg._format_python_code)


def share_config(cfg: Config, cls: Type[AnyConfig]) -> AnyConfig:
    """A ``cls`` (a subclass of ``Config``) holding ``cfg``'s content
    itself, not a copy: a change to either is a change to both."""
    shared = cls.__new__(cls)
    for name, value in cfg.__dict__.items():
        object.__setattr__(shared, name, value)
    return shared


@contextmanager
def printed_lines_dropped(prefixes: Sequence[str]) -> Iterator[None]:
    """Holds back what is printed inside the block and prints it after the
    block, less the lines that start with one of ``prefixes``."""
    printed = io.StringIO()
    try:
        with redirect_stdout(printed):
            yield
    finally:
        kept = [
            line for line in printed.getvalue().splitlines(True)
            if not line.lstrip().startswith(tuple(prefixes))
        ]
        sys.stdout.write(''.join(kept))


class _DeferredModule(types.ModuleType):
    """A module whose code runs at the first use of an attribute that it
    does not have yet (its name, file, path and spec it has from the start,
    so that importing it, or a submodule of it, and looking it up do not
    run it)."""

    def __getattr__(self, name: str):
        self.__class__ = types.ModuleType
        self.__spec__.loader.exec_module(self)
        return getattr(self, name)


def defer_timm() -> None:
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


def import_mmseg_quietly() -> None:
    """Imports the parts of mmcv and mmseg this package builds on without
    the two notices they give at import, neither of which concerns it
    (nothing here uses mmcv's compiled ops or OneDL). The warning filters
    are restored after the imports, and of what they print only
    :data:`ONEDL_PRINT` is held back."""
    with warnings.catch_warnings(), printed_lines_dropped([ONEDL_PRINT]):
        warnings.filterwarnings(
            'ignore',
            message='Fail to import ``MultiScaleDeformableAttention``')
        import mmcv.cnn.bricks  # noqa: F401
        import mmseg.datasets  # noqa: F401
        defer_timm()
        import mmseg.models  # noqa: F401
