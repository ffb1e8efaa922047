# The small random-init SEEM (configs/_base_/models/seem_small.py),
# interactive (click) benchmark on the synthetic set with SEEM's click
# protocol: NoC@85/90, NoF, mIoU@k of a seem_small_8xb2-2k_synthetic.py
# checkpoint (InteractiveMetric).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_interactive.py',
    '../_base_/models/seem_small.py',
]
max_clicks = 20
model = dict(
    test_cfg=dict(
        task='interactive_eval',
        interactive_protocol='seem',
        max_clicks=max_clicks))
test_evaluator = dict(protocol='seem', max_clicks=max_clicks)
val_evaluator = test_evaluator
