"""Peak memory of tools/infer.py on one big photo, per number of classes.

    python tools/infer_memory.py [--size H W] [--classes K ...]
        [--checkpoint CKPT] [--work-dir DIR]

Writes a photo of H x W (default 3000 x 4000) and, without --checkpoint, a
checkpoint of the tiny VOC model with random weights (memory does not
depend on the weights); then runs `tools/infer.py PHOTO --classes <the
first K class names of ADE20K-847> --templates single --device cpu` once
per K, each in a fresh process, and prints its peak resident memory
(imports included; cascade_clip/utils/memory.py says how it is measured),
after a line that describes the machine.
"""
import os
import os.path as osp

from cascade_clip.analysis.infer_memory import infer_memory
from cascade_clip.utils.cli import ToolParser, run_tool_main
from cascade_clip.utils.machine import describe_machine, format_machine

INFER = osp.join(osp.dirname(osp.abspath(__file__)), 'infer.py')


def main():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--size', type=int, nargs=2, default=[3000, 4000], metavar=('H', 'W'))
    parser.add_argument(
        '--classes', type=int, nargs='+', default=[3, 171, 300])
    parser.add_argument('--checkpoint', help='default: random tiny model')
    parser.add_argument('--work-dir', help='default: a temporary folder')
    args = parser.parse_args()
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
    print(f'machine: {format_machine(describe_machine("cpu"))}')
    print(f'{args.size[0]} x {args.size[1]} photo, {INFER}')
    print('classes  peak RSS (MiB)')
    for count, mib in infer_memory(INFER, args.classes, tuple(args.size),
                                   args.checkpoint, args.work_dir):
        print(f'{count:7d}  {mib:14,.0f}', flush=True)


if __name__ == '__main__':
    run_tool_main(main)
