"""The ONNX runtime against PyTorch: agreement, speed, memory, export.

    python tools/benchmark_onnx.py CONFIG [CHECKPOINT] --work-dir DIR
        [--image-size H W] [--classes "a,b,..."] [--templates single|multi]
        [--rounds 3] [--threads N] [--no-int8] [--levels all basic]
        [--no-batched] [--out FILE] [--cfg-options k=v ...]

Exports the model into DIR/onnx (random weights, saved into DIR, unless a
CHECKPOINT is given), compares the ONNX image model's scores with PyTorch's
on random windows, then segments one random image of H x W (as the model
gets it; default 512 x 683) into the config's classes with tools/infer.py's
segmenter and with the ONNX runtime, each engine in its own process, in
turn for --rounds rounds after an untimed first image that embeds the
classes. Prints the tables of docs/deployment.md; --out writes the JSON.
"""
import json

from cascade_clip.analysis.onnx_benchmark import (benchmark_onnx,
                                                  format_onnx_benchmark)
from cascade_clip.structures import DATASET_CLASSES
from cascade_clip.utils.cli import ToolParser, add_cfg_options, run_tool_main
from cascade_clip_runtime.classes import parse_class_list


def parse_args():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='weights (default: random weights)')
    parser.add_argument(
        '--work-dir', required=True, help='folder for the export and data')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=[512, 683],
        metavar=('H', 'W'),
        help='test image size (as the model gets it)')
    parser.add_argument('--classes', help='class names (default: config\'s)')
    parser.add_argument(
        '--templates', default='single', choices=['single', 'multi'])
    parser.add_argument(
        '--rounds', type=int, default=3, help='timed images per engine')
    parser.add_argument(
        '--threads', type=int, help='threads per engine (default: cores)')
    parser.add_argument(
        '--no-int8',
        action='store_true',
        help='leave out the int8-quantised image model')
    parser.add_argument(
        '--levels',
        nargs='+',
        default=['all', 'basic'],
        choices=['all', 'extended', 'basic', 'disabled'],
        help='onnxruntime graph optimisation levels to time')
    parser.add_argument(
        '--no-batched',
        action='store_true',
        help='leave out the runtime with all windows through the image '
        'model at once')
    parser.add_argument('--out', help='also write the results as JSON here')
    add_cfg_options(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    classes = (
        parse_class_list(args.classes, DATASET_CLASSES)
        if args.classes is not None else None)
    result = benchmark_onnx(
        args.config,
        args.checkpoint,
        args.work_dir,
        image_size=tuple(args.image_size),
        classes=classes,
        templates=args.templates,
        rounds=args.rounds,
        threads=args.threads,
        int8=not args.no_int8,
        levels=args.levels,
        batched=not args.no_batched,
        cfg_options=args.cfg_options)
    print(format_onnx_benchmark(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_tool_main(main)
