"""Convert the full ADE20K release to the 847-class layout of the
open-vocabulary literature (data/README.md, "ADE20K-847").

    python tools/dataset_converters/ade20k_847.py data/ADE20K_2021_17_01
        [--out-dir DIR] [--split validation [training]]
        [--max-short-side 512] [--nproc N]

Reads images/ADE/<split>/**/ADE_*.jpg and the *_seg.png beside each; writes
images_847/<split>/*.jpg and annotations_847/<split>/*.png (16-bit train ids,
65535 ignored).
"""
from cascade_clip.datasets.converters import ADE20K_SPLITS, convert_ade20k_847
from cascade_clip.utils.cli import ToolParser, run_tool_main


def parse_args():
    parser = ToolParser(
        description='Convert the full ADE20K release to ADE20K-847')
    parser.add_argument(
        'release_root', help='the unpacked release, .../ADE20K_2021_17_01')
    parser.add_argument('--out-dir', help='default: release_root')
    parser.add_argument(
        '--split',
        nargs='+',
        choices=ADE20K_SPLITS,
        default=['validation'],
        help='splits to convert (cross-dataset evaluation needs validation)')
    parser.add_argument(
        '--max-short-side',
        type=int,
        default=512,
        help='resize larger images to this short side (0: keep sizes)')
    parser.add_argument('--nproc', type=int, default=1, help='processes')
    return parser.parse_args()


def main():
    args = parse_args()
    counts = convert_ade20k_847(
        args.release_root,
        out_root=args.out_dir,
        splits=args.split,
        max_short_side=args.max_short_side,
        nproc=args.nproc)
    for split, count in counts.items():
        print(f'{split}: {count} images converted')


if __name__ == '__main__':
    run_tool_main(main)
