"""What the tools share on the command line: their argument parser, the
``--cfg-options`` and launcher arguments, and how a tool ends on an error a
person can act on: one line ``error: ...`` on stderr and a non-zero exit;
the traceback only with ``--debug`` or ``CASCADE_CLIP_DEBUG=1``."""
import argparse
import os
import re
import sys
from typing import Any, Callable, Optional, Sequence

from mmengine.config import DictAction

from .device import NoGPUError

DEBUG_VARIABLE = 'CASCADE_CLIP_DEBUG'

# Errors that come from what a person gave a tool (paths, files, options,
# data, the machine), whose message says what is wrong; any other exception
# is a bug and keeps its traceback.
KNOWN_ERRORS = (OSError, ValueError, KeyError, NoGPUError)

# mmengine's registry prefixes an error raised while building an object
# with the class and its file, once per level of nesting.
_BUILD_PREFIX = re.compile(r'^(class `\w+` in [^:]+: )+')


class ToolParser(argparse.ArgumentParser):
    """The tools' argument parser: adds ``--debug``; a bad option ends the
    tool with one line ``error: ...`` (exit status 2)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument(
            '--debug',
            action='store_true',
            help='on an error, show the traceback (or set '
            f'{DEBUG_VARIABLE}=1)')

    def error(self, message: str):
        self.exit(2, f'error: {message} (see {self.prog} --help)\n')

    @classmethod
    def from_docstring(cls, doc: str) -> 'ToolParser':
        """A tool's parser described by its module docstring: the first
        line as the description, the rest (usage and notes) after the
        options, as written."""
        return cls(
            description=doc.splitlines()[0],
            epilog=doc.split('\n\n', 1)[1],
            formatter_class=argparse.RawDescriptionHelpFormatter)


def debug_requested(argv: Optional[Sequence[str]] = None) -> bool:
    """Whether the command line has ``--debug`` or the environment sets
    ``CASCADE_CLIP_DEBUG`` to anything but ``0``."""
    argv = sys.argv[1:] if argv is None else argv
    return '--debug' in argv or os.environ.get(DEBUG_VARIABLE,
                                               '0') not in ('', '0')


def error_line(error: BaseException) -> str:
    """An exception's message on one line, without mmengine's build
    prefixes (``class `X` in file: ``)."""
    if isinstance(error, KeyError) and len(error.args) == 1 and isinstance(
            error.args[0], str):
        message = error.args[0]  # str(KeyError) adds quotes
    else:
        message = str(error)
    if isinstance(error, OSError) and error.filename and (str(error.filename)
                                                          not in message):
        message = f'{message}: {error.filename}'
    message = ' '.join(message.split())
    return _BUILD_PREFIX.sub('', message) or type(error).__name__


def run_tool_main(main: Callable[[], Any]) -> None:
    """Runs a tool's ``main``; a known error (:data:`KNOWN_ERRORS`) ends the
    tool with ``error: <message>`` on stderr and exit status 1, other
    exceptions and every error under ``--debug`` with their traceback."""
    debug = debug_requested()
    try:
        main()
    except KNOWN_ERRORS as error:
        if debug:
            raise
        sys.stdout.flush()
        print(f'error: {error_line(error)}', file=sys.stderr)
        sys.exit(1)


def fail(message: str, status: int = 1):
    """Ends a tool with ``error: <message>`` on stderr."""
    sys.stdout.flush()
    print(f'error: {message}', file=sys.stderr)
    sys.exit(status)


class CfgOptionsAction(DictAction):
    """mmengine's ``key=value`` parsing, with an argparse error for an
    item without ``=`` or without a key."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if '=' not in item or not item.split('=', 1)[0].strip():
                parser.error(f'{option_string} takes key=value items (e.g. '
                             f'train_cfg.max_iters=2); got {item!r}')
        super().__call__(parser, namespace, values, option_string)


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options key=value ...``: overrides merged into the config
    (their keys are checked against it, see
    :func:`~cascade_clip.config_options.check_cfg_options`)."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, key=value')


def add_launcher(parser: argparse.ArgumentParser) -> None:
    """``--launcher`` and the ``--local-rank`` older launchers pass."""
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parses the arguments; a ``--local-rank`` given by the launcher
    becomes ``LOCAL_RANK`` unless the launcher set that already."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def parse_eval(values: Optional[Sequence[str]]) -> None:
    """Accepts the paper's ``--eval mIoU``; the zero-shot metric always runs.

    Raises:
        ValueError: for a metric other than mIoU.
    """
    for value in values or ():
        if value != 'mIoU':
            raise ValueError(f'--eval {value}: only mIoU is available (the '
                             'zero-shot mIoU(S)/mIoU(U)/hIoU report)')
