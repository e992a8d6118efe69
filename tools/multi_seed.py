"""Train and test a config once per seed and report mean ± std; or combine
test reports of several checkpoints the same way.

    python tools/multi_seed.py CONFIG --seeds 0 1 2 [--work-dir DIR]
                               [--gpus N] [--cfg-options k=v ...]
                               [train.py options: --amp, --load-from CKPT]
    python tools/multi_seed.py --combine RUN.json|WORK_DIR ... [--out DIR]

Each seed trains in WORK_DIR/seed_<seed> (default WORK_DIR:
work_dirs/<config name>_seeds) and is tested into WORK_DIR/seed_<seed>/test.
Run the same command again after an interruption: finished seeds are kept,
an interrupted training resumes from its last checkpoint. The table and JSON
(multi_seed.md, multi_seed.json) give mIoU(S), mIoU(U), hIoU, mIoU and pAcc
per run and as mean ± std (the sample standard deviation, ddof=1), and the
per-class IoU of the unseen classes.
"""
from cascade_clip.experiments.multi_seed import (combine, format_table,
                                                 run_seeds, write_results)
from cascade_clip.utils.cli import ToolParser, fail, run_tool_main


def parse_args():
    parser = ToolParser(
        description='Mean ± std over seeds (or over test reports)')
    parser.add_argument('config', nargs='?', help='config file path')
    parser.add_argument(
        '--seeds', type=int, nargs='+', help='one training run per seed')
    parser.add_argument('--work-dir', help='runs go to WORK_DIR/seed_<seed>')
    parser.add_argument(
        '--gpus', type=int, default=1, help='GPUs per run (torchrun)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='config overrides key=value, for training and testing')
    parser.add_argument(
        '--combine',
        nargs='+',
        metavar='REPORT',
        help='zero_shot_metrics.json files (or their folders) to combine '
        'instead of training')
    parser.add_argument(
        '--out', help='with --combine: folder for the table and JSON')
    args, train_args = parser.parse_known_args()
    if args.combine:
        if args.config or args.seeds or train_args:
            parser.error('--combine takes only test reports (and --out)')
    elif not args.config or not args.seeds:
        parser.error('give CONFIG and --seeds (or --combine REPORT ...)')
    if args.gpus < 1:
        parser.error('--gpus must be at least 1')
    return args, train_args


def main():
    args, train_args = parse_args()
    if args.combine:
        result = combine(args.combine)
        print(format_table(result))
        if args.out:
            paths = write_results(result, args.out)
            print(f'written: {paths["json"]}, {paths["table"]}')
        return
    try:
        run_seeds(
            args.config,
            args.seeds,
            work_dir=args.work_dir,
            gpus=args.gpus,
            cfg_options=args.cfg_options,
            train_args=train_args)
    except RuntimeError as error:  # a run failed: the end of its output
        fail(str(error))


if __name__ == '__main__':
    run_tool_main(main)
