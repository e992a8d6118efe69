"""Train a segmentor (mmseg 1.x style).

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
                          [--load-from CKPT] [--cfg-options k=v ...]
                          [--launcher {none,pytorch,slurm,mpi}] [--verbose]
                          [--debug]

The console shows what runs, progress with ETA and the evaluation tables;
the full log is in <work dir>/<timestamp>/<timestamp>.log.
"""
from cascade_clip.apis.train import main
from cascade_clip.utils.cli import run_tool_main

if __name__ == '__main__':
    run_tool_main(main)
