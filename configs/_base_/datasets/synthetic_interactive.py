# Interactive (click) evaluation on mmseem's synthetic set: every thing
# instance of val2017 is one object to segment with simulated clicks.
# GT masks are loaded after Resize, i.e. at the original image size, where
# the clicks are simulated and the IoU is measured.
# Generate the data first:
#   python tools/dataset_converters/make_synthetic_coco.py
dataset_type = 'SyntheticInstanceDataset'
data_root = 'data/synthetic/'
image_size = (128, 128)
max_clicks = 20
backend_args = None

test_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True,
         backend_args=backend_args),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
# NoC@50/80/85/90, NoF@85/90 and mIoU@1..20 (SEEM's protocol)
val_evaluator = dict(
    type='InteractiveMetric', protocol='seem', max_clicks=max_clicks)
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
