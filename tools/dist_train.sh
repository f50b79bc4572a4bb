#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py options]
# Starts GPUS processes with torch.distributed.run; MMEngine initialises the process group.
# `exec`: the launcher *is* this process, so a signal sent to it reaches torch.distributed.run
# (which stops its workers on SIGINT/SIGTERM); the workers also die when it is killed outright
# (SIGKILL), through PR_SET_PDEATHSIG (mmssl.utils.dist.die_with_launcher).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR="$(cd "$(dirname "$0")" && pwd)"

PYTHONPATH="$DIR/..":$PYTHONPATH \
exec python -m torch.distributed.run \
    --nnodes=$NNODES --node_rank=$NODE_RANK --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS --master_port=$PORT \
    "$DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"
