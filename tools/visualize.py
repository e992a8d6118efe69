"""Pictures of predictions and charts of per-class IoU.

    python tools/visualize.py predictions CONFIG CHECKPOINT
        [--split {val,train}] [--num N] [--out DIR] [--device DEVICE]
        [--cfg-options k=v ...]
    python tools/visualize.py iou-chart METRICS_JSON [--out FILE]

``predictions`` writes, for the first N images of the split, the image, the
ground truth and the prediction side by side with a legend of the classes
shown (unseen ones marked); ``iou-chart`` draws the per-class IoU of the
``zero_shot_metrics.json`` that tools/test.py writes, seen and unseen classes
in two colours.
"""
from cascade_clip.apis import visualize_predictions
from cascade_clip.utils.cli import ToolParser, add_cfg_options, run_tool_main
from cascade_clip.visualization import plot_iou_chart


def parse_args(argv=None):
    parser = ToolParser(
        description='Pictures of predictions and charts of per-class IoU')
    commands = parser.add_subparsers(dest='command', required=True)

    predictions = commands.add_parser(
        'predictions',
        help='image | ground truth | prediction pictures of a split')
    predictions.add_argument('config', help='config file path')
    predictions.add_argument('checkpoint', help='checkpoint file')
    predictions.add_argument(
        '--split',
        choices=['val', 'train'],
        default='val',
        help='images to show (both loaded without augmentation)')
    predictions.add_argument(
        '--num', type=int, default=8, help='how many images (first N)')
    predictions.add_argument(
        '--out',
        help='output folder (default: work_dirs/<config name>/vis_<split>)')
    predictions.add_argument(
        '--device', help='cuda or cpu (default: cuda if available)')
    predictions.add_argument(
        '--font-size',
        type=int,
        help='legend text size (px; default: from the image size, at '
        'least 14)')
    predictions.add_argument(
        '--only-labelled',
        action='store_true',
        help='draw the prediction only where the ground truth has a class '
        '(black elsewhere), e.g. for VOC-20, whose background is no class')
    add_cfg_options(predictions)

    chart = commands.add_parser(
        'iou-chart', help='bar chart of a test run\'s per-class IoU')
    chart.add_argument(
        'metrics_json', help='zero_shot_metrics.json of a test run')
    chart.add_argument(
        '--out', help='PNG to write (default: beside the JSON, *_iou.png)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.command == 'predictions':
        pictures = visualize_predictions(
            args.config,
            args.checkpoint,
            split=args.split,
            num=args.num,
            out_dir=args.out,
            cfg_options=args.cfg_options,
            device=args.device,
            font_size=args.font_size,
            only_labelled=args.only_labelled)
        for picture in pictures:
            print(picture.path)
    else:
        print(plot_iou_chart(args.metrics_json, args.out).path)


if __name__ == '__main__':
    run_tool_main(main)
