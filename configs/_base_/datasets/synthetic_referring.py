# Referring segmentation on mmseem's synthetic set (RefCOCO format: mmdet's
# RefCocoDataset over annotations/refs(synthetic)_val.p + instances): one
# mask per sentence, cIoU / mIoU / Prec@k (ReferringMetric).
# Generate the data first:
#   python tools/dataset_converters/make_synthetic_coco.py
dataset_type = 'mmdet.RefCocoDataset'
data_root = 'data/synthetic/'
image_size = (128, 128)
backend_args = None

test_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
    # GT masks at the original size, one per sentence
    dict(type='mmdet.LoadAnnotations', with_mask=True, with_bbox=False,
         with_seg=False, with_label=False),
    # `text` switches SEEM to referring; `gt_masks` is what mmdet's
    # RefSegMetric (and mmseem's ReferringMetric) read
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'gt_masks', 'text')),
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
        split_file='annotations/refs(synthetic)_val.p',
        split='val',
        text_mode='select_first',
        data_prefix=dict(img_path='val2017/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# prefix: RefSegMetric's keys (cIoU, mIoU) would clash with the semantic mIoU
val_evaluator = dict(type='ReferringMetric', prefix='refseg')
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
