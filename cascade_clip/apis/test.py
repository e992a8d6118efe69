"""Evaluate a checkpoint: seen / unseen / all tables, JSON in the work
dir; the command line of ``tools/test.py``, also run as a module (an
installed package has no ``tools/``).

    python -m cascade_clip.apis.test CONFIG CHECKPOINT [--eval mIoU]
        [--work-dir DIR] [--overwrite] [--out DIR] [--show] [--show-dir DIR]
        [--amp]
        [--cfg-options k=v ...] [--launcher ...] [--verbose] [--debug]

The results (zero_shot_metrics.json, the log) go to --work-dir, by default
work_dirs/<config name>/test_<checkpoint name>: never over the training
run's files; results that exist are replaced only with --overwrite.
Checkpoints of the paper's code load as they are (converted on load).
"""
from ..engine import finish_distributed, init_cpu_distributed
from ..engine.experiment import run_test, test_config
from ..utils.cli import (ToolParser, add_cfg_options, add_launcher, parse_eval,
                         parse_launch_args, run_tool_main)


def parse_args():
    parser = ToolParser(description='Evaluate a segmentor')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--eval',
        nargs='+',
        help='accepted for the paper\'s commands (mIoU); the zero-shot '
        'mIoU(S)/mIoU(U)/hIoU report always runs')
    parser.add_argument(
        '--work-dir',
        help='where the log and JSON go (default: work_dirs/<config '
        'name>/test_<checkpoint name>)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the results that --work-dir holds already')
    parser.add_argument('--out', help='folder for predicted label PNGs')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bfloat16 autocast, where the CPU or GPU has bfloat16 '
        '(faster; the metrics within docs/speed.md\'s tolerance)')
    parser.add_argument(
        '--show', action='store_true', help='show predictions in a window')
    parser.add_argument(
        '--show-dir', help='folder for prediction / ground-truth pictures')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds per shown image')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='mmengine\'s full console (config, environment); by default '
        'they go to the work dir\'s log file only')
    add_cfg_options(parser)
    add_launcher(parser)
    return parse_launch_args(parser)


def main() -> None:
    """The command line (see the module's docstring)."""
    args = parse_args()
    parse_eval(args.eval)
    cfg = test_config(
        args.config,
        args.checkpoint,
        work_dir=args.work_dir,
        out=args.out,
        show=args.show,
        show_dir=args.show_dir,
        wait_time=args.wait_time,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        overwrite=args.overwrite,
        amp=args.amp)
    init_cpu_distributed(args.launcher)
    run_test(cfg, brief=not args.verbose)
    finish_distributed()


if __name__ == '__main__':
    run_tool_main(main)
