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
from cascade_clip.experiments.ablation import main
from cascade_clip.utils.cli import run_tool_main

if __name__ == '__main__':
    run_tool_main(main)
