"""Train and test several configs (an ablation's variants) once per seed
each, and compare them: mean ± std per variant, and each variant's
difference from the first with a 95% interval (Welch's t).

    python tools/ablation.py BASELINE_CONFIG CONFIG [CONFIG ...]
                             --seeds 0 1 2 3 4 [--work-dir DIR] [--gpus N]
                             [--cfg-options k=v ...] [--shapes-world]
                             [train.py options: --amp, ...]

Variant CONFIG runs seed S in WORK_DIR/<CONFIG's file name>/seed_<S>
(default WORK_DIR: work_dirs/ablation), all variants of the first seed
first. Run the same command again after an interruption: finished runs are
kept, an interrupted training resumes from its last checkpoint. Writes
ablation.md and ablation.json into WORK_DIR (and each variant's
multi_seed.md / multi_seed.json into its folder). --shapes-world first
writes the shapes world's scenes where its configs (configs/shapes/) read
them, data/shapes (the demo's 2000 training and 200 validation scenes; kept
if written before). The shapes world's ablation (docs/ablation.md):

    python tools/ablation.py --shapes-world --seeds 0 1 2 3 4 \\
        --work-dir work_dirs/ablation_shapes \\
        configs/shapes/single-decoder_tiny_1xb16-2k_shapes20-64x64_inductive.py \\
        configs/shapes/direct-aggregation_tiny_1xb16-2k_shapes20-64x64_inductive.py \\
        configs/shapes/cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py
"""  # noqa: E501
import argparse

from cascade_clip.experiments.ablation import run_ablation
from cascade_clip.utils.cli import ToolParser, fail, run_tool_main

# Where configs/shapes/ read the world (relative to the working directory).
SHAPES_ROOT = 'data/shapes'


def parse_args():
    parser = ToolParser(
        description=__doc__.split('\n\n')[0].replace('\n', ' '),
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'configs', nargs='+', help='config files, the baseline first')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        required=True,
        help='one training run of every config per seed')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/ablation',
        help='runs go to WORK_DIR/<config name>/seed_<seed> '
        '(default %(default)s)')
    parser.add_argument(
        '--gpus', type=int, default=1, help='GPUs per run (torchrun)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='config overrides key=value, for every training and test')
    parser.add_argument(
        '--shapes-world',
        action='store_true',
        help=f'first write the shapes world into {SHAPES_ROOT} (kept if '
        'there)')
    args, train_args = parser.parse_known_args()
    if args.gpus < 1:
        parser.error('--gpus must be at least 1')
    if len(args.configs) < 2:
        parser.error('give at least two configs to compare')
    return args, train_args


def main():
    args, train_args = parse_args()
    if args.shapes_world:
        from cascade_clip.synthetic.world import write_shapes_voc
        print(f'shapes world: {write_shapes_voc(SHAPES_ROOT)}', flush=True)
    try:
        run_ablation(
            args.configs,
            args.seeds,
            work_dir=args.work_dir,
            gpus=args.gpus,
            cfg_options=args.cfg_options,
            train_args=train_args)
    except RuntimeError as error:  # a run failed: the end of its output
        fail(str(error))


if __name__ == '__main__':
    run_tool_main(main)
