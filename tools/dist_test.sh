#!/usr/bin/env bash
# Distributed evaluation with torchrun, one process per GPU (gloo on CPUs).
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options...]
# Several nodes: set NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT on each.
# PYTHON selects the interpreter (default: python on the PATH).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [--eval mIoU] ..." >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${MASTER_PORT:-${PORT:-29500}}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
DIR=$(cd "$(dirname "$0")" && pwd)
# One thread per process unless said otherwise: what torchrun and mmengine
# set anyway, each with a warning per process when the variables are unset.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
