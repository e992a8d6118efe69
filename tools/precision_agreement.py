"""Measure how far bfloat16 autocast (--amp) and the int8 ONNX image model
move the labels from float32's, with trained weights.

    python tools/precision_agreement.py [--checkpoint CKPT]
        [--data work_dirs/demo/data] [--golden CASE ...] [--no-int8]
        [--out FILE.json]

The shapes world's model (default: the web demo's shipped one) on the 200
validation scenes of tools/demo.py (written to --data, or reused there):
the share of pixels labelled as in float32 and mIoU(S), mIoU(U), hIoU of
both; and golden cases' paper-format checkpoints on their recorded images
(default: every case of tests/data/golden). Prints a markdown table
(docs/speed.md).
"""
import glob
import json
import os.path as osp

from cascade_clip.analysis.precision_agreement import (format_agreement,
                                                       measure_agreement)
from cascade_clip.synthetic.web_model import SHIPPED_MODEL
from cascade_clip.utils.cli import ToolParser, run_tool_main

GOLDEN = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'tests', 'data', 'golden')


def main():
    parser = ToolParser.from_docstring(__doc__)
    parser.add_argument('--checkpoint', default=SHIPPED_MODEL)
    parser.add_argument('--data', default='work_dirs/demo/data')
    parser.add_argument(
        '--golden',
        nargs='*',
        help='golden cases (paths without .pt; default: the repository\'s)')
    parser.add_argument(
        '--no-int8',
        action='store_true',
        help='leave out the int8 ONNX image model (needs onnx, onnxruntime)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='JSON of every figure')
    args = parser.parse_args()
    golden = args.golden
    if golden is None:
        golden = [p[:-3] for p in sorted(glob.glob(osp.join(GOLDEN, '*.pt')))]
    report = measure_agreement(
        args.checkpoint,
        args.data,
        golden,
        int8=not args.no_int8,
        device=args.device,
        log=lambda r: print(
            f'{r.what}, {r.precision}: {r.equal:.3f}% of the pixels as in '
            f'float32 (lowest image {r.equal_min:.2f}%)',
            flush=True))
    print(format_agreement(report))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report.as_dict(), f, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_tool_main(main)
