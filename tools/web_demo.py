"""Serve a web page that segments an image into the class names you type.

    python tools/web_demo.py [--checkpoint CKPT] [--config CFG]
        [--host 127.0.0.1] [--port N] [--device cpu|cuda] [--amp]
        [--threshold P] [--distractors LIST|NAMES]

Without --checkpoint it opens with the shipped shapes model (Cascade-CLIP
trained by `tools/demo.py --seed 0` in the synthetic world of coloured
shapes; cascade_clip/synthetic/shapes_web_model.pth, made by
tools/make_web_demo_model.py), example scenes with unseen shapes and a
starting threshold that leaves the background unlabelled
(docs/inference.md). With --checkpoint it serves that model (this
project's, or the paper's with --config). The page draws as tools/infer.py
does: the overlay with a legend of the classes by area, a table of shares,
the label mask to download.
Needs the demo extra: pip install -e ".[demo]" (Gradio).
"""
import os.path as osp
import signal
import sys
import tempfile

from cascade_clip.apis.inference import OpenVocabularySegmenter
from cascade_clip.structures import DATASET_CLASSES
from cascade_clip.synthetic.web_model import (SHIPPED_MODEL, SHIPPED_THRESHOLD,
                                              describe_web_model,
                                              write_examples)
from cascade_clip.utils.cli import ToolParser, fail, run_tool_main
from cascade_clip.web import MAX_CLASSES, Example, WebDemo, launch_app
from cascade_clip_runtime.classes import parse_class_list
from cascade_clip_runtime.scores import check_threshold


def parse_args():
    parser = ToolParser.from_docstring(__doc__)
    parser.add_argument(
        '--checkpoint', help='trained model (default: the shapes model)')
    parser.add_argument(
        '--config', help='config, for a checkpoint of the paper\'s code')
    parser.add_argument(
        '--host',
        default='127.0.0.1',
        help='address to serve on (default %(default)s)')
    parser.add_argument(
        '--port',
        type=int,
        help='port (default: 7860, or the next free one up to 7959)')
    parser.add_argument('--device', help='cpu or cuda (default: best)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bfloat16 autocast, where the CPU or GPU has bfloat16')
    parser.add_argument(
        '--classes',
        help='the class names the page starts with, comma-separated '
        '(default: the model\'s classes)')
    parser.add_argument(
        '--threshold',
        type=float,
        help='the probability the page\'s threshold starts at, below which '
        f'a pixel is unlabelled (default: {SHIPPED_THRESHOLD} for the shapes '
        'model, 0 (off) for a --checkpoint)')
    parser.add_argument(
        '--distractors',
        default='',
        help='the distractors the page starts with: a class list\'s name or '
        'names (default: none)')
    parser.add_argument(
        '--max-classes',
        type=int,
        default=None,
        help='most class names a request may give (default 1000)')
    parser.add_argument(
        '--max-memory-gb',
        type=float,
        help='memory a request\'s class scores may take (default: half '
        'the free memory at the request)')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        import gradio  # noqa: F401
    except ImportError:
        fail('Gradio is not installed: pip install -e ".[demo]" (or pip '
             'install gradio)')
    if args.port is not None and not 0 < args.port < 65536:
        fail(f'--port {args.port}: give a port from 1 to 65535')
    if args.max_classes is not None and args.max_classes < 2:
        fail(f'--max-classes {args.max_classes}: give 2 or more')
    if args.max_memory_gb is not None and args.max_memory_gb <= 0:
        fail(f'--max-memory-gb {args.max_memory_gb}: give a positive size')

    threshold = args.threshold
    if threshold is None:
        threshold = 0.0 if args.checkpoint else SHIPPED_THRESHOLD
    check_threshold(threshold)

    checkpoint = args.checkpoint or SHIPPED_MODEL
    segmenter = OpenVocabularySegmenter(
        checkpoint, args.config, device=args.device, amp=args.amp)
    classes = parse_class_list(args.classes, DATASET_CLASSES) \
        if args.classes else None
    with tempfile.TemporaryDirectory(prefix='cascade-clip-web-') as work:
        if args.checkpoint:
            examples = []
            description = (f'Model: `{osp.basename(checkpoint)}`. Upload or '
                           'paste an image and type class names.')
        else:
            examples = [
                Example(*example)
                for example in write_examples(osp.join(work, 'examples'))
            ]
            description = describe_web_model(checkpoint)
        demo = WebDemo(
            segmenter,
            osp.join(work, 'results'),
            class_names=classes,
            examples=examples,
            description=description,
            threshold=threshold,
            distractors=args.distractors,
            max_classes=args.max_classes or MAX_CLASSES,
            memory_budget=None
            if args.max_memory_gb is None else int(args.max_memory_gb * 2**30))
        try:
            app, url = launch_app(demo, args.host, args.port)
        except OSError as err:
            if 'empty port' not in str(err):
                raise
            taken = (f'port {args.port} is'
                     if args.port else 'ports 7860-7959 are')
            fail(f'{taken} in use on {args.host}: give another --port')
        print(f'serving {url} (Ctrl+C stops)', flush=True)
        # A termination signal stops it as Ctrl+C does: the server closes
        # and the temporary folder goes.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            app.block_thread()
        finally:
            app.close()


if __name__ == '__main__':
    run_tool_main(main)
