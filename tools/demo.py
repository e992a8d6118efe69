"""The whole workflow in one command, with nothing to download.

    python tools/demo.py [--out work_dirs/demo] [--iters 300]

Makes a tiny random CLIP and a small generated VOC-like dataset, trains
inductively, evaluates (seen / unseen / hIoU table), and writes pictures
and an open-vocabulary inference example. The CLIP is random and tiny: the
numbers say nothing about Cascade-CLIP.
"""
import argparse

from cascade_clip.apis.demo import run_demo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='work_dirs/demo', help='folder')
    parser.add_argument('--iters', type=int, default=300,
                        help='training iterations')
    parser.add_argument('--lr', type=float,
                        help='base learning rate (default: the paper\'s 2e-5)')
    parser.add_argument('--num-train', type=int, default=16)
    parser.add_argument('--num-val', type=int, default=4)
    args = parser.parse_args()
    run_demo(args.out, args.iters, args.lr, args.num_train, args.num_val)


if __name__ == '__main__':
    main()
