# Tiny random-weight SEEM, interactive (click) benchmark on the synthetic set:
# SEEM's click protocol, NoC / NoF / mIoU@k via InteractiveMetric. For tests
# and CPU smoke runs, not for accuracy:
#   mim test mmseem configs/seem/seem_tiny_synthetic-interactive.py
# The model is the one of seem_tiny_synthetic-panoptic.py (same widths).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_interactive.py',
    '../_base_/models/seem_tiny.py',
]
max_clicks = 20
model = dict(
    # SEEM.predict runs mmseem.evaluation.interactive_session.
    # run_interactive_evaluation for every sample of this task
    test_cfg=dict(
        task='interactive_eval',
        interactive_protocol='seem',
        max_clicks=max_clicks))
test_evaluator = dict(protocol='seem', max_clicks=max_clicks)
val_evaluator = test_evaluator
