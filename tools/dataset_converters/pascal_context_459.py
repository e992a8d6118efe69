"""Convert the full Pascal Context annotation to 459-class label PNGs
(data/README.md, "Pascal Context-459").

    python tools/dataset_converters/pascal_context_459.py \\
        data/VOCdevkit/VOC2010 [--mat-dir DIR] [--labels FILE]
        [--out-dir DIR] [--nproc N]

Reads labels.txt and trainval/*.mat (from trainval.tar.gz); writes
SegmentationClassContext459/*.png (16-bit, 0-458, 65535 unlabelled) and,
where they are missing, ImageSets/SegmentationContext/{train,val}.txt.
"""
from cascade_clip.datasets.converters import convert_pascal_context_459
from cascade_clip.utils.cli import ToolParser, run_tool_main


def parse_args():
    parser = ToolParser(
        description='Convert the full Pascal Context annotation to PC-459')
    parser.add_argument('voc2010', help='.../VOCdevkit/VOC2010')
    parser.add_argument(
        '--mat-dir',
        help='the unpacked trainval.tar.gz (default VOC2010/trainval)')
    parser.add_argument(
        '--labels',
        help='the release\'s labels.txt (default VOC2010/labels.txt)')
    parser.add_argument(
        '--out-dir', help='default VOC2010/SegmentationClassContext459')
    parser.add_argument('--nproc', type=int, default=1, help='processes')
    return parser.parse_args()


def main():
    args = parse_args()
    result = convert_pascal_context_459(
        args.voc2010,
        mat_dir=args.mat_dir,
        labels_txt=args.labels,
        out_dir=args.out_dir,
        nproc=args.nproc)
    print(f'{result["converted"]} label maps converted')
    for number, theirs, ours in result['renamed']:
        print(f'note: labels.txt names class {number} {theirs!r}; the class '
              f'list of this package calls it {ours!r}')
    for path in result['splits_written']:
        print(f'wrote {path} (from ImageSets/Main, the annotated images)')


if __name__ == '__main__':
    run_tool_main(main)
