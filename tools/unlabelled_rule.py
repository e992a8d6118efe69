"""Measure ways of leaving pixels of no given class unlabelled, in the shapes
world.

    python tools/unlabelled_rule.py [--checkpoint CKPT]
        [--background-checkpoint CKPT] [--data work_dirs/demo/data]
        [--thresholds T ...] [--plot FILE] [--out FILE.json]

On the 200 validation scenes of tools/demo.py (written to --data, or reused
there), where the truth of the background is known: for no rule, each
threshold, background as a class name, distractor lists, and a model
trained with the background as a class, the share of background pixels
given no shape's name, the share of shape pixels keeping their class, and
mIoU(S), mIoU(U), hIoU on the shapes. Prints a markdown table; --plot draws
the two shares over the threshold (docs/inference.md).
"""
import json

from cascade_clip.analysis.unlabelled_rule import (THRESHOLDS,
                                                   format_rule_table,
                                                   measure_unlabelled_rule,
                                                   plot_rule)
from cascade_clip.synthetic.web_model import SHIPPED_MODEL
from cascade_clip.utils.cli import ToolParser, run_tool_main


def main():
    parser = ToolParser.from_docstring(__doc__)
    parser.add_argument(
        '--checkpoint',
        default=SHIPPED_MODEL,
        help='a model of the 20 shapes (default: the web demo\'s)')
    parser.add_argument(
        '--background-checkpoint',
        help='a model trained with the background as a class (shapes21)')
    parser.add_argument(
        '--data',
        default='work_dirs/demo/data',
        help='where the world is (written if missing; default %(default)s)')
    parser.add_argument(
        '--thresholds',
        type=float,
        nargs='+',
        default=list(THRESHOLDS),
        help='the sweep (0: no threshold)')
    parser.add_argument(
        '--distractors',
        nargs='*',
        default=['coco_stuff171'],
        help='distractor lists to try on the 20-shape model')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--plot', help='PNG of the shares over the threshold')
    parser.add_argument('--out', help='JSON of every figure')
    args = parser.parse_args()
    measurement = measure_unlabelled_rule(
        args.checkpoint,
        args.data,
        args.background_checkpoint,
        args.thresholds,
        args.distractors,
        args.device,
        log=lambda result: print(
            f'{result.model} {result.approach} {result.threshold}: '
            f'background {result.background_unnamed:.1f}%, shapes '
            f'{result.shapes_kept:.1f}%, hIoU {result.hiou:.2f}',
            flush=True))
    print(format_rule_table(measurement))
    if args.plot:
        print(f'wrote {plot_rule(measurement, args.plot)}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(measurement.as_dict(), f, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_tool_main(main)
