# COCO panoptic val2017 (data/coco/, see README "Data") for evaluation with
# mmdet's CocoPanopticMetric (PQ), CocoMetric (mask AP) and mIoU.
dataset_type = 'mmdet.CocoPanopticDataset'
data_root = 'data/coco/'
backend_args = None
eval_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='mmdet.LoadPanopticAnnotations', backend_args=backend_args),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'seg_map_path')),
]
# mmseg.apis.inference_model uses `test_pipeline` (no annotations)
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True,
        pipeline=eval_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='mmdet.CocoPanopticMetric',
         ann_file=data_root + 'annotations/panoptic_val2017.json',
         seg_prefix=data_root + 'annotations/panoptic_val2017/',
         backend_args=backend_args),
    dict(type='mmdet.CocoMetric',
         ann_file=data_root + 'annotations/instances_val2017.json',
         metric=['segm'], backend_args=backend_args),
    dict(type='PanopticSemSegMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
