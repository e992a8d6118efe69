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
from cascade_clip.experiments.multi_seed import main
from cascade_clip.utils.cli import run_tool_main

if __name__ == '__main__':
    run_tool_main(main)
