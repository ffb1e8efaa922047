# mmdet's Mask2Former (panoptic), a tiny random-init ResNet-18 variant sized
# for CPU training on mmseem's synthetic set: the reference baseline that
# SEEM and X-Decoder are compared against "trained or loaded the same way".
# Every part is mmdet's own (built in the mmdet scope via `_scope_`). Same
# budget as seem_small_8xb2-3k_synthetic.py / xdecoder_small_8xb2-3k_
# synthetic.py: 3k iterations of batch 2, 64-d pixel decoder / decoder,
# 16 queries, 3 decoder layers.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_panoptic.py',
    '../_base_/models/resnet18_random_init.py',
]

num_things_classes = 5
num_stuff_classes = 3
num_classes = num_things_classes + num_stuff_classes
feat = 64  # 256 in the full model

data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_size_divisor=32,
    pad_mask=True,
    mask_pad_value=0,
    pad_seg=True,
    seg_pad_value=255)

model = dict(
    _scope_='mmdet',
    type='Mask2Former',
    data_preprocessor=data_preprocessor,
    backbone={{_base_.resnet18_random_init}},  # shared with SEEM small
    panoptic_head=dict(
        type='Mask2FormerHead',
        in_channels=[64, 128, 256, 512],
        strides=[4, 8, 16, 32],
        feat_channels=feat,
        out_channels=feat,
        num_things_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        num_queries=16,
        num_transformer_feat_level=3,
        pixel_decoder=dict(
            type='MSDeformAttnPixelDecoder',
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=16),
            act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=2,
                layer_cfg=dict(
                    self_attn_cfg=dict(
                        embed_dims=feat, num_heads=4, num_levels=3,
                        num_points=4, dropout=0.0, batch_first=True),
                    ffn_cfg=dict(
                        embed_dims=feat, feedforward_channels=4 * feat,
                        num_fcs=2, ffn_drop=0.0,
                        act_cfg=dict(type='ReLU', inplace=True)))),
            positional_encoding=dict(num_feats=feat // 2, normalize=True)),
        enforce_decoder_input_project=False,
        positional_encoding=dict(num_feats=feat // 2, normalize=True),
        transformer_decoder=dict(
            return_intermediate=True,
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(
                    embed_dims=feat, num_heads=4, dropout=0.0,
                    batch_first=True),
                cross_attn_cfg=dict(
                    embed_dims=feat, num_heads=4, dropout=0.0,
                    batch_first=True),
                ffn_cfg=dict(
                    embed_dims=feat, feedforward_channels=4 * feat,
                    num_fcs=2, ffn_drop=0.0,
                    act_cfg=dict(type='ReLU', inplace=True))),
            init_cfg=None),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
            reduction='mean', class_weight=[1.0] * num_classes + [0.1]),
        loss_mask=dict(
            type='CrossEntropyLoss', use_sigmoid=True, reduction='mean',
            loss_weight=5.0),
        loss_dice=dict(
            type='DiceLoss', use_sigmoid=True, activate=True,
            reduction='mean', naive_dice=True, eps=1.0, loss_weight=5.0)),
    panoptic_fusion_head=dict(
        type='MaskFormerFusionHead',
        num_things_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        loss_panoptic=None,
        init_cfg=None),
    train_cfg=dict(
        num_points=2048,  # 12544 at 1024 px; the images here are 128 px
        oversample_ratio=3.0,
        importance_sample_ratio=0.75,
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='ClassificationCost', weight=2.0),
                dict(type='CrossEntropyLossCost', weight=5.0,
                     use_sigmoid=True),
                dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)
            ]),
        sampler=dict(type='MaskPseudoSampler')),
    test_cfg=dict(
        panoptic_on=True,
        semantic_on=False,
        instance_on=True,
        max_per_image=20,
        iou_thr=0.8,
        filter_low_score=True),
    init_cfg=None)

# schedule: 3k iterations of batch 2 (the "8xb2" name keeps mmdet's
# convention for the per-GPU batch; on one CPU it is 1x2).
max_iters = 3000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, weight_decay=0.05, eps=1e-8,
                   betas=(0.9, 0.999)),
    clip_grad=dict(max_norm=0.01, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(0.889 * max_iters), int(0.963 * max_iters)],
         gamma=0.1),
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500,
                    max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmdet.DetVisualizationHook'))
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=16)
