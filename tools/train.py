"""Train a segmentor (mmseg 1.x style).

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
                          [--load-from CKPT] [--cfg-options k=v ...]
                          [--launcher {none,pytorch,slurm,mpi}]
"""
import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner

from cascade_clip.apis import init_cpu_distributed, train_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue from the last checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (GPU)')
    parser.add_argument(
        '--load-from',
        help='checkpoint to start from (e.g. the inductive model)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = train_config(
        args.config,
        work_dir=args.work_dir,
        resume=args.resume,
        amp=args.amp,
        load_from=args.load_from,
        cfg_options=args.cfg_options,
        launcher=args.launcher)
    init_cpu_distributed(args.launcher)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
