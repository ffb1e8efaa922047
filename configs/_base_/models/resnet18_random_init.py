# mmdet's ResNet-18, random init (nothing is downloaded): the image encoder
# of the small synthetic recipes, shared so that SEEM small (through
# BackboneWrapper, configs/_base_/models/seem_small.py) and the Mask2Former
# R18 baseline are compared on one backbone. Outputs: 64/128/256/512
# channels at strides 4/8/16/32.
resnet18_random_init = dict(
    type='mmdet.ResNet',
    depth=18,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=-1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    style='pytorch',
    init_cfg=None)
