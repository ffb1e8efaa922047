# The small random-init SEEM (configs/_base_/models/seem_small.py) on the
# synthetic set, panoptic evaluation (PQ / mask AP via the instance output /
# mIoU) of a checkpoint of seem_small_8xb2-3k_synthetic.py:
#   mim test mmseem configs/seem/seem_small_synthetic-panoptic.py \
#       --checkpoint work_dirs/seem_small_8xb2-3k_synthetic/iter_3000.pth
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_panoptic.py',
    '../_base_/models/seem_small.py',
]
# evaluators of synthetic_panoptic.py: PQ, mask AP (the instance output) and
# mIoU (the semantic output), as the Mask2Former baseline
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    visualization=dict(type='mmdet.DetVisualizationHook'))
# inference-only config (`mim test`): the training config
# seem_small_8xb2-3k_synthetic.py adds the training parts
train_dataloader = None
