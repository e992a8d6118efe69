"""Write a tiny random CLIP with OpenAI's key names, for tests and CPU runs.

    python tools/make_tiny_clip.py clip_pretrain/tiny-clip.pt
        [--format torchscript|state_dict|safetensors] [--config CONFIG]

Its sizes match the configs in configs/tiny/ (--config: those of that
config's model, e.g. the 24-block one's, which reads
clip_pretrain/tiny-clip-24.pt). Its weights are random: what a model trained
from it does says nothing about Cascade-CLIP.
"""
from cascade_clip.testing.tiny_clip import TINY_CONFIG, write_tiny_clip
from cascade_clip.utils.cli import ToolParser, run_tool_main


def main():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='output file')
    parser.add_argument(
        '--format',
        default='torchscript',
        choices=['torchscript', 'state_dict', 'safetensors'],
        help='torchscript is the format of OpenAI\'s ViT-B-16.pt')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--config',
        default=TINY_CONFIG,
        help='the tiny config whose sizes to write (default: %(default)s)')
    args = parser.parse_args()
    write_tiny_clip(args.out, args.format, seed=args.seed, config=args.config)
    print(f'wrote a tiny random CLIP to {args.out}')


if __name__ == '__main__':
    run_tool_main(main)
