# mmdet's Mask2Former (panoptic, COCO, LSJ 1024, 50 epochs) with SEEM's
# image encoder: mmseem's FocalNet-T (focal_dw, the SEEM Focal-T backbone)
# instead of ResNet-50. Everything else is mmdet's official recipe
# (mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py):
# 133 classes (80 things + 53 stuff), 100 queries, MSDeformAttn pixel decoder
# (6 layers, 256-d), 9 masked-attention decoder layers, 12544 points, AdamW
# lr 1e-4 / wd 0.05 with backbone lr x0.1, gradient clipping 0.01, LSJ
# (0.1-2.0, crop and BatchFixedSizePad 1024). It is the same-backbone
# baseline of tools/analysis_tools/benchmark_speed.py --modes train.
# No pretrained weights are downloaded (backbone init_cfg=None): to train
# for real, load an ImageNet FocalNet-T (or X-Decoder Focal-T backbone)
# checkpoint, e.g. init_cfg=dict(type='Pretrained', prefix='backbone.',
# checkpoint='checkpoints/xdecoder_focalt_last_mmseem.pth').
#   mim train mmseem configs/baselines/mask2former_focalt_8xb2-lsj-50e_coco-panoptic.py
_base_ = ['mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py']

custom_imports = dict(imports=['mmseem'], allow_failed_imports=False)
default_scope = 'mmdet'  # an mmdet model and mmdet data / metrics

model = dict(
    backbone=dict(
        _delete_=True,
        # the full import path: mmdet's registry cannot reach the mmseem
        # scope (a child of mmseg's) by the 'mmseem.' prefix
        type='mmseem.models.backbones.FocalNet',
        arch='tiny',  # SEEM Focal-T: focal_dw, 96-d, depths 2-2-6-2
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        out_type='tuple',  # mmdet heads take a tuple of maps
        init_cfg=None),
    panoptic_head=dict(in_channels=[96, 192, 384, 768]))
