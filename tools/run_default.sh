#!/usr/bin/env bash
# The main job on the embedded default: train the small SEEM on the
# synthetic set on the CPU, evaluate every SEEM task with mmengine
# evaluators (panoptic PQ things/stuff, mask AP, mIoU; referring cIoU/mIoU;
# interactive NoC@85/90 and mIoU after 1..20 clicks, standard protocol;
# visual referring mIoU), print one table and write pictures.
#   bash tools/run_default.sh [--with-baselines] [--iters N] [--checkpoint CKPT]
# --checkpoint: evaluate this SEEM checkpoint instead of training one.
# env: WORK_DIR (default work_dirs/default), DATA_ROOT (data/synthetic),
#      ITERS (3000), WITH_BASELINES=1 (also Mask2Former R18 and X-Decoder
#      small on the same budget, and their rows).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's mmseem
WORK=${WORK_DIR:-work_dirs/default}
DATA=${DATA_ROOT:-data/synthetic}
ITERS=${ITERS:-3000}
BASELINES=${WITH_BASELINES:-0}
SEEM_CKPT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --with-baselines) BASELINES=1 ;;
        --iters) ITERS=$2; shift ;;
        --checkpoint) SEEM_CKPT=$2; shift ;;
        *) echo "unknown argument $1 (use --with-baselines, --iters N," \
                "--checkpoint CKPT)" >&2
           exit 2 ;;
    esac
    shift
done
START=$(date +%s)
log() { echo "[run_default $(( $(date +%s) - START ))s] $*"; }

log "synthetic data under $DATA"
python tools/dataset_converters/make_synthetic_coco.py --out "$DATA" --if-stale

train() {  # NAME CONFIG: train on $ITERS iterations, no validation
    log "training $1 ($2, $ITERS iterations)"
    rm -rf "${WORK:?}/$1"
    python tools/train.py "$2" --work-dir "$WORK/$1" --cfg-options \
        train_cfg.max_iters="$ITERS" train_cfg.val_interval=$(( ITERS + 1 )) \
        default_hooks.checkpoint.interval="$ITERS" \
        train_dataloader.dataset.data_root="$DATA/" \
        "param_scheduler.1.end=$ITERS" \
        "param_scheduler.1.milestones=[$(( ITERS * 889 / 1000 )),$(( ITERS * 963 / 1000 ))]" \
        > "$WORK/$1.log" 2>&1 || { tail -30 "$WORK/$1.log"; exit 1; }
    tail -2 "$WORK/$1.log" | cut -c1-200
}
mkdir -p "$WORK"
if [ -z "$SEEM_CKPT" ]; then
    train seem configs/seem/seem_small_8xb2-3k_synthetic.py
    SEEM_CKPT="$WORK/seem/iter_$ITERS.pth"
fi
RUNS=(--run SEEM configs/seem/seem_small_synthetic-panoptic.py "$SEEM_CKPT"
      --run SEEM configs/seem/seem_small_synthetic-referring.py "$SEEM_CKPT"
      --run SEEM configs/seem/seem_small_synthetic-interactive.py "$SEEM_CKPT")
if [ "$BASELINES" = 1 ]; then
    train mask2former configs/baselines/mask2former_r18_8xb2-3k_synthetic.py
    train xdecoder configs/baselines/xdecoder_small_8xb2-3k_synthetic.py
    XD_CKPT="$WORK/xdecoder/iter_$ITERS.pth"
    RUNS+=(--run Mask2Former configs/baselines/mask2former_r18_8xb2-3k_synthetic.py
                 "$WORK/mask2former/iter_$ITERS.pth"
           --run X-Decoder configs/seem/seem_small_synthetic-panoptic.py "$XD_CKPT"
                 model.sem_seg_head.predictor.spatial=False
           --run X-Decoder configs/seem/seem_small_synthetic-referring.py "$XD_CKPT"
                 model.sem_seg_head.predictor.spatial=False)
fi

log "evaluating (mmengine evaluators)"
mkdir -p "$WORK/eval" "$WORK/pictures"
python tools/analysis_tools/benchmark_table.py "${RUNS[@]}" \
    --data-root "$DATA/" --work-dir "$WORK/eval" --json "$WORK/eval/runs.json" \
    --plot "$WORK/pictures/miou_vs_clicks.png" --num-workers 0 \
    > "$WORK/eval.log" 2>&1 || { tail -30 "$WORK/eval.log"; exit 1; }

log "visual referring evaluation and pictures"
python tools/analysis_tools/default_pictures.py \
    configs/seem/seem_small_synthetic-panoptic.py "$SEEM_CKPT" \
    --data-root "$DATA" --out-dir "$WORK/pictures" \
    --metrics-json "$WORK/eval/visual_referring_SEEM.json" \
    > "$WORK/pictures.log" 2>&1 || { tail -30 "$WORK/pictures.log"; exit 1; }

log "done"
python tools/analysis_tools/metrics_table.py "$WORK" --seconds $(( $(date +%s) - START ))
echo "pictures: $WORK/pictures/ (panoptic_*.png, referring_*.png, clicks_*.png, visual_referring_*.png, miou_vs_clicks.png)"
