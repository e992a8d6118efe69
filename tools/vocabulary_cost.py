"""The cost of a long class list at test time: text embedding (once) and,
per image, time and peak memory, for the first K classes of a config.

    python tools/vocabulary_cost.py CONFIG [--classes K ...]
        [--image-size H W] [--images N] [--device cpu|cuda]
        [--checkpoint CKPT] [--cfg-options k=v ...]

Also counts the text encoder's calls while images are segmented: 0, the
class embeddings are computed once. The table follows a line that
describes the machine.
"""
from cascade_clip.analysis.vocabulary_cost import (format_vocabulary_cost,
                                                   measure_vocabulary_cost)
from cascade_clip.utils import default_device
from cascade_clip.utils.cli import ToolParser, add_cfg_options, run_tool_main
from cascade_clip.utils.machine import describe_machine, format_machine


def parse_args():
    parser = ToolParser(
        description='Measure what the number of classes costs at test time')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--classes',
        type=int,
        nargs='+',
        help='numbers of classes K to measure (default: all of the config)')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=[512, 683],
        metavar=('H', 'W'),
        help='test image size as the model gets it')
    parser.add_argument(
        '--images', type=int, default=3, help='timed images per K')
    parser.add_argument('--device', help='cpu or cuda (default: cuda if any)')
    parser.add_argument('--checkpoint', help='weights (default: random)')
    add_cfg_options(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    results = measure_vocabulary_cost(
        args.config,
        class_counts=args.classes,
        image_size=args.image_size,
        images=args.images,
        device=args.device,
        checkpoint=args.checkpoint,
        cfg_options=args.cfg_options)
    machine = describe_machine(args.device or default_device())
    print(f'machine: {format_machine(machine)}')
    print(format_vocabulary_cost(results))


if __name__ == '__main__':
    run_tool_main(main)
