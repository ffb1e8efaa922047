# SEEM Focal-T v1, open-vocabulary panoptic / instance / semantic inference
# on COCO panoptic val2017 with the released weights:
#   python tools/model_converters/seem2mmseem.py seem_focalt_v1.pt \
#       checkpoints/seem_focalt_v1_mmseem.pth \
#       --config configs/seem/seem_focalt-v1_coco-panoptic.py
#   mim test mmseem seem_focalt-v1_coco-panoptic \
#       --checkpoint checkpoints/seem_focalt_v1_mmseem.pth
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/coco_panoptic.py',
    '../_base_/models/seem_focalt.py',
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    visualization=dict(type='mmdet.DetVisualizationHook'))
