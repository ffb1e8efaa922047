# The small random-init SEEM (configs/_base_/models/seem_small.py),
# interactive (click) benchmark on the synthetic set with the standard
# (RITM) click protocol: every object is its own session, NoC@85/90/95,
# NoF@85/90 (RITM's count) and mIoU@k of a seem_small_8xb2-3k_synthetic.py
# checkpoint (InteractiveMetric). protocol='seem' gives SEEM's own figures.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_interactive.py',
    '../_base_/models/seem_small.py',
]
max_clicks = 20
model = dict(
    test_cfg=dict(
        task='interactive_eval',
        interactive_protocol='standard',
        max_clicks=max_clicks))
test_evaluator = dict(protocol='standard', max_clicks=max_clicks,
                      nof_rule='ritm')
val_evaluator = test_evaluator
