#!/usr/bin/env bash
# Multi-GPU / multi-node training through torchrun and MMEngine's launcher.
#   bash tools/dist_train.sh CONFIG GPUS [train.py args...]
# Without CUDA, GPUS processes train on CPU over gloo (tools/train.py picks
# the backend from the device), e.g. a 2-process smoke test:
#   bash tools/dist_train.sh configs/seem/seem_tiny_8xb2-1k_synthetic.py 2
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
python -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3}
