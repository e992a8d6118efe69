"""The command line of inference, shared by ``tools/infer.py`` (PyTorch)
and this package's own command (onnxruntime, ``python -m
cascade_clip_runtime``): the same arguments, the same lines printed and
the same exit status."""
import argparse
import sys
from typing import Dict, Iterable, List, Optional, Sequence

from .classes import parse_distractors
from .files import InferencePlan

CLASSES_HELP = ('comma-separated class names, one name, a text file with '
                'one per line, or a class list ({})')


def add_inference_arguments(parser: argparse.ArgumentParser,
                            class_lists: Iterable[str]) -> None:
    """The arguments of every inference command: the images, ``--classes``
    (naming ``class_lists``), ``--templates``, ``--unseen``, the
    unlabelled rule (``--threshold``, ``--distractors``), ``--out``,
    ``--overwrite`` and ``--skip-bad``."""
    parser.add_argument('images', help='an image or a folder of images')
    parser.add_argument(
        '--classes',
        required=True,
        help=CLASSES_HELP.format(', '.join(sorted(class_lists))))
    parser.add_argument(
        '--templates',
        choices=['multi', 'single'],
        help='prompt templates (default: multi, or those of a model\'s '
        'fixed classes)')
    parser.add_argument(
        '--unseen',
        default='',
        help='comma-separated classes whose scores keep no seen-class '
        'shift, or "model": those the model did not train on (default: '
        'none: every class is seen)')
    parser.add_argument(
        '--threshold',
        type=float,
        help='leave a pixel unlabelled where its best class\'s probability '
        'is below this (0 to 1; default: none, every pixel takes a class)')
    parser.add_argument(
        '--distractors',
        help='classes that compete with --classes, a pixel they win being '
        'unlabelled: a class list (coco_stuff171, ...; the names you gave '
        'left out of it) or comma-separated names')
    parser.add_argument('--out', default='work_dirs/infer', help='folder')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace pictures that exist in --out')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='exit with status 0 when some images of a folder cannot be '
        'read (they are reported and skipped either way)')


def unseen_names(text: str, class_names: Sequence[str],
                 segmenter) -> List[str]:
    """``--unseen``: comma-separated names, or ``model`` for the classes
    the segmenter's model did not train on."""
    if text.strip() == 'model':
        return segmenter.model_unseen(class_names)
    return [name.strip() for name in text.split(',') if name.strip()]


def shares_line(shares: Dict[str, float],
                unlabelled: Optional[float] = None) -> str:
    """The classes' shares on one line: all of them up to 20 classes, else
    those present, largest first; then the unlabelled pixels' share where
    the unlabelled rule was on."""
    rest = '' if unlabelled is None else (
        f', unlabelled {100 * unlabelled:.1f}%')
    if len(shares) <= 20:
        return ', '.join(f'{name} {100 * share:.1f}%'
                         for name, share in shares.items()) + rest
    present = sorted(((s, n) for n, s in shares.items() if s > 0),
                     reverse=True)
    return ', '.join(f'{n} {100 * s:.1f}%' for s, n in present) + rest + (
        f' ({len(shares) - len(present)} classes at 0%)')


def print_skipped(plan: InferencePlan) -> None:
    """Says which files of the folder were left out as pictures this tool
    wrote there."""
    if plan.skipped:
        shown = ', '.join(
            plan.skipped[:3]) + (', ...' if len(plan.skipped) > 3 else '')
        print(f'left out {len(plan.skipped)} pictures this tool wrote into '
              f'the folder: {shown}')


def report(results: Iterable[dict], plan: InferencePlan,
           skip_bad: bool) -> Optional[str]:
    """Prints a line of shares and the pictures written per image, and
    each image that could not be read on stderr; returns the error line
    (without ``error:``) when some could not be read and not
    ``skip_bad``."""
    failed = []
    for result in results:
        if 'error' in result:
            failed.append(result['image'])
            print(f'skipped: {result["error"]}', file=sys.stderr, flush=True)
            continue
        line = shares_line(result['shares'], result.get('unlabelled'))
        print(f'{result["image"]}: {line}')
        print(f'  wrote {result["mask"]} and {result["overlay"]}', flush=True)
    if failed and not skip_bad:
        return (f'{len(failed)} of {len(plan.images)} images could not be '
                f'read ({", ".join(failed[:3])}'
                f'{", ..." if len(failed) > 3 else ""}); the others were '
                'segmented (--skip-bad: exit 0)')
    return None


class Parser(argparse.ArgumentParser):
    """A bad option ends the command with one line ``error: ...``."""

    def error(self, message: str):
        self.exit(2, f'error: {message} (see {self.prog} --help)\n')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = Parser(
        prog='python -m cascade_clip_runtime',
        description='Segment images into any class names with a Cascade-CLIP '
        'model exported by tools/export_onnx.py (onnxruntime, no PyTorch)')
    parser.add_argument(
        '--model', required=True, help='the folder tools/export_onnx.py wrote')
    add_inference_arguments(parser, ['those of the model folder'])
    parser.add_argument(
        '--threads',
        type=int,
        default=0,
        help='onnxruntime threads (default: one per core)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The runtime's command line; returns the exit status."""
    args = parse_args(argv)
    try:
        return _run(args)
    except (OSError, ValueError, KeyError, ImportError) as err:
        sys.stdout.flush()
        message = ' '.join(str(err).split()) or type(err).__name__
        if isinstance(err, ImportError) and err.name:
            message = (f'{message}: the runtime needs onnxruntime, numpy, '
                       'pillow, ftfy and regex (pip install onnxruntime '
                       'numpy pillow ftfy regex)')
        print(f'error: {message}', file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from .files import check_outputs_free, plan_inference
    from .onnx_backend import OnnxSegmenter
    from .scores import check_threshold
    check_threshold(args.threshold)
    segmenter = OnnxSegmenter(args.model, threads=args.threads)
    names = segmenter.class_names(args.classes)
    distractors = parse_distractors(args.distractors, segmenter.class_lists,
                                    names)
    unseen = unseen_names(args.unseen, names, segmenter)
    plan = plan_inference(args.images, args.out)
    print_skipped(plan)
    check_outputs_free(plan, args.overwrite)
    failure = report(
        segmenter.segment_files(args.images, names, args.out, args.templates,
                                unseen, args.overwrite, plan, args.threshold,
                                distractors), plan, args.skip_bad)
    if failure:
        print(f'error: {failure}', file=sys.stderr)
        return 1
    return 0
