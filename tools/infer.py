"""Segment your own images into your own class names.

    python tools/infer.py IMAGE_OR_FOLDER --checkpoint CKPT \
        --classes "cat,grass,sky" [--templates multi|single] [--out DIR]
        [--unseen NAMES|model] [--threshold P] [--distractors LIST|NAMES]
        [--config CONFIG] [--device cpu|cuda] [--amp] [--overwrite]
        [--skip-bad]

Writes <image>_mask.png and <image>_overlay.png (with a legend) per image and
prints the share of pixels of each class; with --threshold or --distractors
a pixel of none of the classes is left unlabelled (docs/inference.md).
Existing files are never replaced
without --overwrite; two images of the same name (a.jpg, a.png) keep their
extension in the output names (a.jpg_mask.png). An image of a folder that
cannot be read is reported and skipped; the tool then exits with status 1
(0 with --skip-bad). The model config is read from the checkpoint; a
checkpoint of the paper's code needs --config. The exported model runs the
same steps without PyTorch: python -m cascade_clip_runtime (its --help).
"""
from cascade_clip.apis.inference import OpenVocabularySegmenter
from cascade_clip.structures import DATASET_CLASSES
from cascade_clip.utils.cli import ToolParser, fail, run_tool_main
from cascade_clip.visualization import font_note, pick_font
from cascade_clip_runtime.classes import (check_class_names, parse_class_list,
                                          parse_distractors)
from cascade_clip_runtime.cli import (add_inference_arguments, print_skipped,
                                      report, unseen_names)
from cascade_clip_runtime.files import check_outputs_free, plan_inference
from cascade_clip_runtime.scores import check_threshold


def parse_args():
    parser = ToolParser(description=__doc__.splitlines()[0])
    add_inference_arguments(parser, DATASET_CLASSES)
    parser.add_argument('--checkpoint', required=True, help='trained model')
    parser.add_argument('--config', help='config (default: the checkpoint\'s)')
    parser.add_argument('--device', help='cpu or cuda (default: best)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bfloat16 autocast, where the CPU or GPU has bfloat16 '
        '(faster; docs/speed.md)')
    return parser.parse_args()


def main():
    args = parse_args()
    classes = parse_class_list(args.classes, DATASET_CLASSES)
    check_class_names(classes)
    check_threshold(args.threshold)
    distractors = parse_distractors(args.distractors, DATASET_CLASSES, classes)
    plan = plan_inference(args.images, args.out)
    print_skipped(plan)
    note = font_note(pick_font(classes))
    if note:
        print(note)
    check_outputs_free(plan, args.overwrite)  # before the model is loaded
    segmenter = OpenVocabularySegmenter(args.checkpoint, args.config,
                                        args.templates or 'multi', args.device,
                                        args.amp)
    unseen = unseen_names(args.unseen, classes, segmenter)
    failure = report(
        segmenter.segment_files(args.images, classes, args.out, None, unseen,
                                args.overwrite, plan, args.threshold,
                                distractors), plan, args.skip_bad)
    if failure:
        fail(failure)


if __name__ == '__main__':
    run_tool_main(main)
