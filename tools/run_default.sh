#!/usr/bin/env bash
# The main job on the embedded default: generate the synthetic set, train the
# baseline briefly on the CPU, evaluate it (PQ / mask AP / mIoU with mmengine
# evaluators at every validation), print the metrics table and save
# visualisations of the validation predictions.
#   bash tools/run_default.sh [CONFIG] [MAX_ITERS]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/baselines/mask2former_r18_8xb2-2k_synthetic.py}
ITERS=${2:-2000}
WORK=${WORK_DIR:-work_dirs/default}
VAL=$(( ITERS / 3 ))

python tools/dataset_converters/make_synthetic_coco.py --out data/synthetic
rm -rf "$WORK"
mim train mmseem "$CONFIG" --work-dir "$WORK" --cfg-options \
    train_cfg.max_iters=$ITERS train_cfg.val_interval=$VAL \
    default_hooks.checkpoint.interval=$ITERS \
    "param_scheduler.1.end=$ITERS" \
    "param_scheduler.1.milestones=[$(( ITERS * 889 / 1000 )),$(( ITERS * 963 / 1000 ))]"
mim test mmseem "$CONFIG" --checkpoint "$WORK/iter_$ITERS.pth" \
    --work-dir "$WORK/test" --show-dir vis
python tools/analysis_tools/metrics_table.py "$WORK"
echo "visualisations: $(ls -d "$WORK"/test/*/vis 2>/dev/null || ls -d "$WORK"/*/vis)"
