"""Peak memory of tools/infer.py on one big photo, per number of classes.

    python tools/infer_memory.py [--size H W] [--classes K ...]
        [--checkpoint CKPT] [--work-dir DIR]

Writes a photo of H x W (default 3000 x 4000) and, without --checkpoint, a
checkpoint of the tiny VOC model with random weights (memory does not
depend on the weights); then runs `tools/infer.py PHOTO --classes <the
first K class names of ADE20K-847> --templates single --device cpu` once
per K, each in a fresh process, and prints its peak resident memory (the
child's maximum RSS, from getrusage). The infer.py run, and the package it
imports, are those of the checkout this script is in.
"""
import os
import os.path as osp
import subprocess
import sys
import tempfile

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from cascade_clip.utils.cli import ToolParser, run_tool_main  # noqa: E402
TINY_CONFIG = osp.join(REPO, 'configs', 'tiny',
                       'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py')
# Runs one command and prints the peak RSS (KiB) of its process tree's
# largest process: the only child of this short-lived process.
_MEASURE = ('import resource, subprocess, sys; '
            'code = subprocess.call(sys.argv[1:], stdout=sys.stderr); '
            'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, '
            'code)')


def write_inputs(work_dir: str, size, checkpoint=None) -> tuple:
    """The photo (a smooth random picture, JPEG) and the checkpoint."""
    import mmcv
    import numpy as np
    height, width = size
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 255, (height // 100 + 2, width // 100 + 2, 3),
                          np.uint8)
    photo = osp.join(work_dir, 'photo.jpg')
    mmcv.imwrite(mmcv.imresize(coarse, (width, height)), photo)
    if checkpoint is None:
        import torch
        from mmengine.config import Config
        from mmseg.registry import MODELS

        import cascade_clip  # noqa: F401  (registers the model)
        from mmseg.utils import register_all_modules
        register_all_modules()
        cfg = Config.fromfile(TINY_CONFIG)
        torch.manual_seed(0)
        model = MODELS.build(dict(cfg.model, pretrained=None))
        checkpoint = osp.join(work_dir, 'tiny.pth')
        torch.save(
            dict(
                meta=dict(cfg=cfg.pretty_text),
                state_dict=model.state_dict()), checkpoint)
    return photo, checkpoint


def class_file(work_dir: str, count: int) -> str:
    """A text file of the first ``count`` ADE20K-847 class names."""
    from cascade_clip.structures import DATASET_CLASSES
    names = list(DATASET_CLASSES['ade20k847'])[:count]
    path = osp.join(work_dir, f'classes_{count}.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(names) + '\n')
    return path


def peak_rss_mib(command) -> float:
    """Peak RSS in MiB of ``command`` run in a fresh process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    run = subprocess.run([sys.executable, '-c', _MEASURE, *command],
                         capture_output=True, text=True, check=True, env=env)
    kib, code = run.stdout.split()
    if code != '0':
        raise RuntimeError(f'{" ".join(command)} failed (exit {code}): '
                           f'{run.stderr[-2000:]}')
    return int(kib) / 1024


def main():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, nargs=2, default=[3000, 4000],
                        metavar=('H', 'W'))
    parser.add_argument('--classes', type=int, nargs='+',
                        default=[3, 171, 300])
    parser.add_argument('--checkpoint', help='default: random tiny model')
    parser.add_argument('--work-dir', help='default: a temporary folder')
    args = parser.parse_args()
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='infer_memory_')
    os.makedirs(work_dir, exist_ok=True)
    photo, checkpoint = write_inputs(work_dir, args.size, args.checkpoint)
    print(f'{args.size[0]} x {args.size[1]} photo, tools/infer.py of {REPO}')
    print('classes  peak RSS (MiB)')
    for count in args.classes:
        out = tempfile.mkdtemp(prefix=f'out_{count}_', dir=work_dir)
        command = [
            sys.executable,
            osp.join(REPO, 'tools', 'infer.py'), photo, '--checkpoint',
            checkpoint, '--classes',
            class_file(work_dir, count), '--templates', 'single', '--device',
            'cpu', '--out', out
        ]
        print(f'{count:7d}  {peak_rss_mib(command):14,.0f}', flush=True)


if __name__ == '__main__':
    run_tool_main(main)
