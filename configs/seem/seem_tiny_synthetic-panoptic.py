# A tiny random-weight SEEM (every part at toy width) on the synthetic set:
# for tests and CPU smoke runs of every task, not for accuracy.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_panoptic.py',
    '../_base_/models/seem_tiny.py',
]
model = dict(
    test_cfg=dict(max_per_image=10))

val_evaluator = [
    dict(type='mmdet.CocoPanopticMetric',
         ann_file='data/synthetic/annotations/panoptic_val2017.json',
         seg_prefix='data/synthetic/annotations/panoptic_val2017/'),
    dict(type='PanopticSemSegMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    visualization=dict(type='mmdet.DetVisualizationHook'))
# inference-only config (`mim test`): no training parts (the training config
# seem_tiny_8xb2-1k_synthetic.py adds them)
train_dataloader = None
