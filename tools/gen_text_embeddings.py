"""Write class text embeddings (.npy) with CLIP's text encoder.

    python tools/gen_text_embeddings.py clip_pretrain/ViT-B-16.pt \
        --classes voc20 --templates single --out voc20_single.npy
    python tools/gen_text_embeddings.py clip_pretrain/ViT-B-16.pt \
        --classes "cat,grass,sky" --templates multi --out mine.npy

A config reads the file with `model.text_embeddings='mine.npy'`; without it,
the model computes the same embeddings at start-up from `class_names`.
--gelu for a CLIP trained with GELU (most of open_clip's, LAION's among
them; clip_pretrain/README.md): the file does not say.
"""
from cascade_clip.apis.text_embeddings import generate_text_embeddings
from cascade_clip.models.text_embeddings import TEMPLATES
from cascade_clip.structures import DATASET_CLASSES
from cascade_clip.utils.cli import ToolParser, run_tool_main
from cascade_clip_runtime.classes import parse_class_list


def main():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument('weights', help='CLIP weights, e.g. ViT-B-16.pt')
    parser.add_argument(
        '--classes',
        required=True,
        help='a setting (voc20, context59, coco_stuff171), a text file with '
        'one class per line, or comma-separated names')
    parser.add_argument(
        '--templates',
        default='single',
        help=f'{" or ".join(TEMPLATES)}, or a text file of templates with '
        '"{}" for the class name')
    parser.add_argument('--out', required=True, help='.npy file to write')
    parser.add_argument('--heads', type=int, help='text encoder heads')
    parser.add_argument('--device', help='cpu or cuda (default: best)')
    parser.add_argument(
        '--gelu',
        action='store_true',
        help='the CLIP uses GELU, not OpenAI\'s QuickGELU (open_clip\'s '
        'models but the -quickgelu ones)')
    args = parser.parse_args()

    classes = parse_class_list(args.classes, DATASET_CLASSES)
    templates = args.templates
    if templates not in TEMPLATES:
        with open(templates) as f:
            templates = [line.rstrip('\n') for line in f if line.strip()]
    embeddings = generate_text_embeddings(
        args.weights,
        classes,
        templates,
        args.out,
        args.heads,
        args.device,
        quick_gelu=not args.gelu)
    print(f'wrote {args.out}: {embeddings.shape[0]} classes x '
          f'{embeddings.shape[1]}')


if __name__ == '__main__':
    run_tool_main(main)
