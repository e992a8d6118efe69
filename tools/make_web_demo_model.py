"""Write the web demo's shapes model from a run of tools/demo.py.

    python tools/pretrain_tiny_clip.py --background \
        --out clip_pretrain/tiny-clip-shapes21.safetensors
    python tools/demo.py --seed 0 --out work_dirs/web_model \
      --config shapes/cascade-clip_tiny_1xb16-2k_shapes21-64x64_inductive.py \
        --clip clip_pretrain/tiny-clip-shapes21.safetensors
    python tools/make_web_demo_model.py work_dirs/web_model [--out FILE]
        [--config CONFIG]

The web demo's model knows the background: a class of its own, whose
tiny CLIP was pre-trained with a caption for it (docs/web_demo.md).

Takes the run's inductive checkpoint (the latest work_dir/iter_N.pth) and
its test metrics, and writes the model for inference only: its config and
weights (float16 where that is exact, else float32), with where it came
from and its mIoU(S) / mIoU(U) / hIoU. The default output is the file the
package ships, which tools/web_demo.py opens without --checkpoint;
--config is the config the run trained (default: the shapes21 one).
"""

from cascade_clip.synthetic.web_model import (SHIPPED_MODEL, WEB_CONFIG,
                                              export_web_model)
from cascade_clip.utils.cli import ToolParser, run_tool_main


def main():
    parser = ToolParser.from_docstring(__doc__)
    parser.add_argument(
        'demo_dir',
        nargs='?',
        default='work_dirs/demo',
        help='the --out folder of tools/demo.py (default %(default)s)')
    parser.add_argument(
        '--out',
        default=SHIPPED_MODEL,
        help='output file (default: the shipped one, %(default)s)')
    parser.add_argument(
        '--config',
        default=WEB_CONFIG,
        help='the config the run trained (default %(default)s)')
    args = parser.parse_args()
    info = export_web_model(args.demo_dir, args.out, args.config)
    scores = ', '.join(f'{key} {value:.2f}'
                       for key, value in info.metrics.items())
    print(f'wrote {info.path} ({info.size / 2**20:.2f} MiB: '
          f'{info.float16} tensors in float16, {info.float32} in float32)\n'
          f'from {info.source} (iteration {info.iteration}, seed '
          f'{info.seed}): {scores}')


if __name__ == '__main__':
    run_tool_main(main)
