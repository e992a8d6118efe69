"""FLOPs and parameters of a config's model (fvcore), reconciled with the
paper's parameter counts.

    python tools/flops.py CONFIG [--shape H W] [--no-flops]
                          [--cfg-options k=v ...]

One forward pass in tensor mode (image encoder + decode head on every
class) of a random image; the text encoder is not counted, its class
embeddings being cached. Weights are random (they change no count).
"""
from cascade_clip.analysis.complexity import (format_complexity,
                                              get_model_complexity)
from cascade_clip.utils.cli import ToolParser, add_cfg_options, run_tool_main


def parse_args():
    parser = ToolParser(
        description='Count the FLOPs and parameters of a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[512, 512],
        help='input size H W (one value: a square)')
    parser.add_argument(
        '--no-flops',
        action='store_true',
        help='count parameters only (skips tracing the forward pass)')
    add_cfg_options(parser)
    args = parser.parse_args()
    if len(args.shape) not in (1, 2):
        parser.error('--shape takes H W or one side')
    return args


def main():
    args = parse_args()
    result = get_model_complexity(
        args.config,
        shape=args.shape,
        cfg_options=args.cfg_options,
        flops=not args.no_flops)
    print(format_complexity(result))


if __name__ == '__main__':
    run_tool_main(main)
