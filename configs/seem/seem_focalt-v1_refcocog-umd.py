# SEEM Focal-T v1, referring segmentation on RefCOCOg (UMD split, val):
# cIoU, mIoU, Prec@0.5..0.9 (README: cIoU 58.5, mIoU 63.7, AP50 72.0).
# Layout (mmdet's RefCOCO layout):
#   data/coco/train2014/*.jpg
#   data/coco/refcocog/instances.json  data/coco/refcocog/refs(umd).p
#   mim test mmseem configs/seem/seem_focalt-v1_refcocog-umd.py \
#       --checkpoint checkpoints/seem_focalt_v1_mmseem.pth
# Every sentence of a reference is evaluated (text_mode='original').
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_referring.py',
    '../_base_/models/seem_focalt.py',
]
data_root = 'data/coco/'
test_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    # SEEM's REF test size: short side 512, long side <= 1024
    dict(type='mmdet.Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_mask=True, with_bbox=False,
         with_seg=False, with_label=False),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'gt_masks', 'text')),
]
test_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='refcocog/instances.json',
        split_file='refcocog/refs(umd).p',
        split='val',
        text_mode='original',
        data_prefix=dict(img_path='train2014/'),
        pipeline=test_pipeline))
val_dataloader = test_dataloader
model = dict(test_cfg=dict(task='referring'))
