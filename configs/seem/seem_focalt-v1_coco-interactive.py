# SEEM Focal-T v1, interactive (click) segmentation with SEEM's protocol
# (first click at the most interior point, corrective clicks by error area,
# 3x3 clicks, objects of an image in groups of 5, stop when all IoU > 0.9;
# NoC@50/80/85/90, NoF, mIoU@k) on COCO val2017 instances ("cocomini" in
# SEEM's configs). Layout: data/coco/val2017/*.jpg and
# data/coco/annotations/instances_val2017.json.
#   python tools/model_converters/seem2mmseem.py seem_focalt_v1.pt \
#       checkpoints/seem_focalt_v1_mmseem.pth
#   mim test mmseem configs/seem/seem_focalt-v1_coco-interactive.py \
#       --checkpoint checkpoints/seem_focalt_v1_mmseem.pth
# README's NoC column is on Pascal VOC (instance PNGs), which needs a VOC
# instance dataset; the numbers here are therefore not that column.
# Use interactive_protocol='standard' (and InteractiveMetric
# protocol='standard') for the RITM/SimpleClick NoC@85/90/95 protocol.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_interactive.py',
    '../_base_/models/seem_focalt.py',
]
data_root = 'data/coco/'
max_clicks = 20
backend_args = None
test_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    # SEEM's VOC / COCO interactive test size: short 800, long <= 1333
    dict(type='mmdet.Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True,
         backend_args=backend_args),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
test_dataloader = dict(
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='mmdet.CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
val_dataloader = test_dataloader
model = dict(
    test_cfg=dict(
        task='interactive_eval',
        interactive_protocol='seem',
        max_clicks=max_clicks))
test_evaluator = dict(protocol='seem', max_clicks=max_clicks)
val_evaluator = test_evaluator
