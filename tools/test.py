"""Evaluate a checkpoint: seen / unseen / all tables, JSON in the work dir.

    python tools/test.py CONFIG CHECKPOINT [--eval mIoU] [--work-dir DIR]
                         [--overwrite] [--out DIR] [--show] [--show-dir DIR]
                         [--cfg-options k=v ...] [--launcher ...]
                         [--verbose] [--debug]

The results (zero_shot_metrics.json, the log) go to --work-dir, by default
work_dirs/<config name>/test_<checkpoint name>: never over the training
run's files; results that exist are replaced only with --overwrite.
Checkpoints of the paper's code load as they are (converted on load).
"""
from cascade_clip.apis.test import main
from cascade_clip.utils.cli import run_tool_main

if __name__ == '__main__':
    run_tool_main(main)
