# A tiny random-weight SEEM (every part at toy width) on the synthetic set:
# for tests and CPU smoke runs of every task, not for accuracy.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_panoptic.py',
    '../_base_/models/seem_focalt.py',
]
dim = 32
model = dict(
    backbone=dict(_delete_=True, type='FocalNet', arch='test',
                  drop_path_rate=0.0),
    sem_seg_head=dict(
        pixel_decoder=dict(
            in_channels=[16, 32, 64, 128],
            feat_channels=dim,
            out_channels=dim,
            norm_cfg=dict(type='GN', num_groups=8),
            transformer_enc_layers=1,
            transformer_nheads=2,
            transformer_dim_feedforward=64),
        predictor=dict(
            lang_encoder=dict(
                lang_encoder=dict(width=dim, layers=2, heads=2),
                dim_lang=dim,
                dim_proj=dim),
            in_channels=dim,
            hidden_dim=dim,
            dim_proj=dim,
            num_queries=7,
            nheads=2,
            dim_feedforward=64,
            dec_layers=3,
            mask_dim=dim,
            max_spatial_len=(32, 32, 32, 32),
            num_spatial_memories=4)),
    test_cfg=dict(max_per_image=10))

val_evaluator = [
    dict(type='mmdet.CocoPanopticMetric',
         ann_file='data/synthetic/annotations/panoptic_val2017.json',
         seg_prefix='data/synthetic/annotations/panoptic_val2017/'),
    dict(type='PanopticSemSegMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    visualization=dict(type='mmdet.DetVisualizationHook'))
