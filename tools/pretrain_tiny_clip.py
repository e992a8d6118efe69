"""Pre-train the tiny CLIP of the shapes world (demo, learning test).

    python tools/pretrain_tiny_clip.py [--out FILE] [--steps N] [--seed S]
        [--background]

Contrastive image-caption training (InfoNCE both ways, learned temperature)
of this project's CLIP towers at tiny widths (image: 12 blocks, width 64,
8-pixel patches; text: 2 blocks, width 32; joint space 32) on generated
32x32 scenes of one coloured shape each, captioned with the names of ALL 20
classes of cascade_clip.synthetic.world ("a photo of a red circle"): like
OpenAI's CLIP, it has seen the unseen classes' names, never their masks. A
second InfoNCE term on the mean of the projected patch tokens aligns the
patch tokens, which Cascade-CLIP's decoders read, with the text. With
--background, scenes of background only are captioned "background" too
(the CLIP of the web demo's model, whose background is a class).

Writes float16 .safetensors with OpenAI's key names, read by the same
loader as ViT-B-16.pt (`pretrained=` in a config). The default output is
the file the package ships and the shapes configs use; seeded, so a rerun
with the same arguments and torch version writes the same weights. Prints
the zero-shot classification accuracy on held-out scenes (seen and unseen
classes) at the end.
"""

from cascade_clip.synthetic.pretrain import SHIPPED_WEIGHTS, pretrain_tiny_clip
from cascade_clip.utils.cli import ToolParser, run_tool_main


def main():
    parser = ToolParser.from_docstring(__doc__)
    parser.add_argument(
        '--out',
        default=SHIPPED_WEIGHTS,
        help='output .safetensors (default: the shipped file, %(default)s)')
    parser.add_argument(
        '--steps',
        type=int,
        default=2000,
        help='optimiser steps (default %(default)s)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--background',
        action='store_true',
        help='also caption scenes without shapes "background"')
    args = parser.parse_args()
    result = pretrain_tiny_clip(
        out=args.out,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        log=lambda line: print(line, flush=True),
        background=args.background)
    acc, pooled = result.accuracy, result.pooled_accuracy
    print(f'zero-shot classification accuracy on held-out scenes '
          f'({20 + args.background} classes): {acc["all"]:.1f}% '
          f'(seen {acc["seen"]:.1f}%, unseen {acc["unseen"]:.1f}%); '
          f'from the mean patch token '
          f'{pooled["all"]:.1f}% (seen {pooled["seen"]:.1f}%, unseen '
          f'{pooled["unseen"]:.1f}%)')
    print(f'{result.seconds / 60:.1f} min; wrote {result.path}')


if __name__ == '__main__':
    run_tool_main(main)
