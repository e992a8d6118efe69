"""Write a tiny generated dataset in the real layout of a zero-shot benchmark.

Example::

    python tools/make_tiny_dataset.py voc20 data/tiny --num-train 8
"""
from cascade_clip.testing.datasets import DATASET_MAKERS
from cascade_clip.utils.cli import ToolParser, run_tool_main


def parse_args():
    parser = ToolParser(
        description='Write a tiny synthetic dataset in the layout that '
        "mmseg's converters give the real one, and print its data_root.")
    parser.add_argument('dataset', choices=sorted(DATASET_MAKERS))
    parser.add_argument('out_dir', help='folder to write the dataset into')
    parser.add_argument('--num-train', type=int, help='training images')
    parser.add_argument('--num-val', type=int, help='validation images')
    parser.add_argument(
        '--size', type=int, nargs=2, metavar=('H', 'W'), help='image size')
    parser.add_argument('--seed', type=int, help='random seed')
    return parser.parse_args()


def main():
    args = parse_args()
    options = dict(
        num_train=args.num_train,
        num_val=args.num_val,
        size=tuple(args.size) if args.size else None,
        seed=args.seed)
    options = {k: v for k, v in options.items() if v is not None}
    data_root = DATASET_MAKERS[args.dataset](args.out_dir, **options)
    print(f'data_root: {data_root}')


if __name__ == '__main__':
    run_tool_main(main)
