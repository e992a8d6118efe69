"""Segment your own images into your own class names.

    python tools/infer.py IMAGE_OR_FOLDER --checkpoint CKPT \
        --classes "cat,grass,sky" [--templates multi|single] [--out DIR]
        [--config CONFIG] [--device cpu|cuda]

Writes <image>_mask.png and <image>_overlay.png (with a legend) per image and
prints the share of pixels of each class. The model config is read from the
checkpoint; a checkpoint of the paper's code needs --config.
"""
from cascade_clip.apis.cli import ToolParser, parse_class_list, run_tool_main
from cascade_clip.apis.inference import segment_images
from cascade_clip.models.text_embeddings import check_open_vocabulary
from cascade_clip.structures import resolve_class_names
from cascade_clip.visualization import font_note, pick_font


def _shares_line(shares: dict) -> str:
    if len(shares) <= 20:
        return ', '.join(f'{name} {100 * share:.1f}%'
                         for name, share in shares.items())
    present = sorted(((s, n) for n, s in shares.items() if s > 0),
                     reverse=True)
    return ', '.join(f'{n} {100 * s:.1f}%' for s, n in present) + (
        f' ({len(shares) - len(present)} classes at 0%)')


def main():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument('images', help='an image or a folder of images')
    parser.add_argument('--checkpoint', required=True, help='trained model')
    parser.add_argument(
        '--classes',
        required=True,
        help='comma-separated class names, one name, a text file with one '
        'per line, or a setting (voc20, context59, coco_stuff171, ...)')
    parser.add_argument(
        '--templates', default='multi', choices=['multi', 'single'])
    parser.add_argument('--out', default='work_dirs/infer', help='folder')
    parser.add_argument('--config', help='config (default: the checkpoint\'s)')
    parser.add_argument('--device', help='cpu or cuda (default: best)')
    args = parser.parse_args()

    classes = resolve_class_names(parse_class_list(args.classes))
    check_open_vocabulary(classes)
    note = font_note(pick_font(classes))
    if note:
        print(note)
    results = segment_images(args.images, args.checkpoint, classes, args.out,
                             args.templates, args.config, args.device)
    for result in results:
        print(f'{result["image"]}: {_shares_line(result["shares"])}')
        print(f'  wrote {result["mask"]} and {result["overlay"]}')


if __name__ == '__main__':
    run_tool_main(main)
