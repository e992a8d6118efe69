#!/usr/bin/env bash
# Training on a Slurm cluster.
#   GPUS=8 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options...]
# GPUS (total, default 4), GPUS_PER_NODE (default 4), CPUS_PER_TASK (default 5)
# SRUN_ARGS (extra srun options) and PYTHON (the interpreter) are read from
# the environment.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [options...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
EXTRA=()
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
    EXTRA=(--work-dir "$1")
    shift
fi
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
DIR=$(cd "$(dirname "$0")" && pwd)

# shellcheck disable=SC2086
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "${PYTHON:-python}" -u "$DIR/train.py" "$CONFIG" --launcher slurm "${EXTRA[@]}" "$@"
