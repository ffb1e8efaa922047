# Shared part of the click-benchmark data configs
# (interactive_{grabcut,berkeley,davis345,coco_mval,sbd,voc}.py):
# the test pipeline, loader and InteractiveMetric.
# Interactive (click) benchmark: every object is one target of a click
# session; ignored pixels (data_sample.ignored_instances) leave the IoU
# when the model's test_cfg has ignore_regions='ignored_instances'.
# GT masks are loaded after Resize, i.e. at the original image size,
# where clicks are simulated and the IoU is measured.
max_clicks = 20
backend_args = None

test_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    # SEEM's interactive test size: short side 800, long side <= 1333
    dict(type='mmdet.Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True,
         backend_args=backend_args),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        # type, data_root, data_prefix (and ann_file) come from
        # configs/_base_/datasets/interactive_<set>.py
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
val_dataloader = test_dataloader
# standard (RITM / SimpleClick) protocol: NoC@85/90/95, NoF@85/90 counted
# as RITM's table does (NoC == max_clicks), mIoU@1..20 (every object gets
# max_clicks clicks, no early stop, as RITM's mIoU@k runs). protocol='seem'
# reports SEEM's NoC@50/80/85/90 instead (see the seem_focalt-v1_*-clicks
# configs for switching the click protocol too)
test_evaluator = dict(
    type='InteractiveMetric',
    protocol='standard',
    max_clicks=max_clicks,
    nof_rule='ritm')
val_evaluator = test_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
