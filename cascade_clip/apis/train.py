"""Train a segmentor (mmseg 1.x style): the command line of
``tools/train.py``, also run as a module (an installed package has no
``tools/``).

    python -m cascade_clip.apis.train CONFIG [--work-dir DIR] [--resume]
        [--amp] [--load-from CKPT] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}] [--verbose] [--debug]

The console shows what runs, progress with ETA and the evaluation tables;
the full log is in <work dir>/<timestamp>/<timestamp>.log.
"""
from ..engine import finish_distributed, init_cpu_distributed
from ..engine.experiment import completed_run_message, run_train, train_config
from ..utils.cli import (ToolParser, add_cfg_options, add_launcher,
                         parse_launch_args, run_tool_main)


def parse_args():
    parser = ToolParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue from the last checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: bfloat16 where the CPU or GPU has it')
    parser.add_argument(
        '--load-from',
        help='checkpoint to start from (e.g. the inductive model)')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='mmengine\'s full console (config, environment, parameter '
        'groups); by default they go to the work dir\'s log file only')
    add_cfg_options(parser)
    add_launcher(parser)
    return parse_launch_args(parser)


def main() -> None:
    """The command line (see the module's docstring)."""
    args = parse_args()
    cfg = train_config(
        args.config,
        work_dir=args.work_dir,
        resume=args.resume,
        amp=args.amp,
        load_from=args.load_from,
        cfg_options=args.cfg_options,
        launcher=args.launcher)
    complete = completed_run_message(cfg)
    if complete:
        print(complete)
        return
    init_cpu_distributed(args.launcher)
    run_train(cfg, brief=not args.verbose)
    finish_distributed()


if __name__ == '__main__':
    run_tool_main(main)
