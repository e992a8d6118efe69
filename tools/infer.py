"""Segment your own images into your own class names.

    python tools/infer.py IMAGE_OR_FOLDER --checkpoint CKPT \
        --classes "cat,grass,sky" [--templates multi|single] [--out DIR]
        [--config CONFIG] [--device cpu|cuda] [--overwrite] [--skip-bad]

Writes <image>_mask.png and <image>_overlay.png (with a legend) per image and
prints the share of pixels of each class. Existing files are never replaced
without --overwrite; two images of the same name (a.jpg, a.png) keep their
extension in the output names (a.jpg_mask.png). An image of a folder that
cannot be read is reported and skipped; the tool then exits with status 1
(0 with --skip-bad). The model config is read from the checkpoint; a
checkpoint of the paper's code needs --config.
"""
import sys

from cascade_clip.apis.inference import iter_segment_images
from cascade_clip.models.text_embeddings import check_open_vocabulary
from cascade_clip.structures import resolve_class_names
from cascade_clip.utils.cli import (ToolParser, fail, parse_class_list,
                                    run_tool_main)
from cascade_clip.utils.image_files import plan_inference
from cascade_clip.visualization import font_note, pick_font


def parse_args():
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
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace pictures that exist in --out')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='exit with status 0 when some images of a folder cannot be '
        'read (they are reported and skipped either way)')
    return parser.parse_args()


def _shares_line(shares: dict) -> str:
    if len(shares) <= 20:
        return ', '.join(f'{name} {100 * share:.1f}%'
                         for name, share in shares.items())
    present = sorted(((s, n) for n, s in shares.items() if s > 0),
                     reverse=True)
    return ', '.join(f'{n} {100 * s:.1f}%' for s, n in present) + (
        f' ({len(shares) - len(present)} classes at 0%)')


def main():
    args = parse_args()
    classes = resolve_class_names(parse_class_list(args.classes))
    check_open_vocabulary(classes)
    plan = plan_inference(args.images, args.out)
    if plan.skipped:
        shown = ', '.join(
            plan.skipped[:3]) + (', ...' if len(plan.skipped) > 3 else '')
        print(f'left out {len(plan.skipped)} pictures this tool wrote into '
              f'the folder: {shown}')
    note = font_note(pick_font(classes))
    if note:
        print(note)
    failed = []
    for result in iter_segment_images(
            args.images,
            args.checkpoint,
            classes,
            args.out,
            args.templates,
            args.config,
            args.device,
            overwrite=args.overwrite,
            plan=plan):
        if 'error' in result:
            failed.append(result['image'])
            print(f'skipped: {result["error"]}', file=sys.stderr, flush=True)
            continue
        print(f'{result["image"]}: {_shares_line(result["shares"])}')
        print(f'  wrote {result["mask"]} and {result["overlay"]}', flush=True)
    if failed and not args.skip_bad:
        fail(f'{len(failed)} of {len(plan.images)} images could not be read '
             f'({", ".join(failed[:3])}{", ..." if len(failed) > 3 else ""});'
             ' the others were segmented (--skip-bad: exit 0)')


if __name__ == '__main__':
    run_tool_main(main)
