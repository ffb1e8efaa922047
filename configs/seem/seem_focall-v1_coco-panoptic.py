# SEEM Focal-L v1 on COCO panoptic val2017 (see the Focal-T config).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/coco_panoptic.py',
    '../_base_/models/seem_focall.py',
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    visualization=dict(type='mmdet.DetVisualizationHook'))
