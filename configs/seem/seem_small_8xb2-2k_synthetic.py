# Training the small random-init SEEM (configs/_base_/models/seem_small.py,
# as in seem_small_synthetic-{panoptic,referring,interactive}.py) on
# mmseem's synthetic set, on CPU: generic panoptic + referring (grounding) +
# interactive (spatial) tasks jointly, as SEEM trains on COCO.
#   python tools/dataset_converters/make_synthetic_coco.py
#   python tools/train.py configs/seem/seem_small_8xb2-2k_synthetic.py
# "8xb2" keeps mmdet's naming of the per-GPU batch; on one CPU it is 1x2.
#
# Custom COCO-format data needs no code: point the dataset at your files and
# list your classes, e.g.
#   train_dataloader = dict(dataset=dict(
#       data_root='data/my_set/',
#       ann_file='annotations/panoptic_train.json',   # COCO panoptic json
#       data_prefix=dict(img='images/', seg='annotations/panoptic_train/'),
#       ref_file='annotations/refs_train.json',       # sentences (optional:
#       metainfo=dict(classes=[...], thing_classes=[...],   # an empty
#                     stuff_classes=[...])))          # annotations list)
#   model = dict(train_cfg=dict(criterion=dict(class_names=dict(
#       thing_classes=[...], stuff_classes=[...]))),
#       test_cfg=dict(vocabulary=dict(thing_classes=[...],
#                                     stuff_classes=[...])))
_base_ = ['./seem_small_synthetic-panoptic.py']

thing_classes = ['circle', 'square', 'triangle', 'star', 'cross']
stuff_classes = ['sky', 'grass', 'wall']
vocabulary = dict(thing_classes=thing_classes, stuff_classes=stuff_classes)
metainfo = dict(
    classes=thing_classes + stuff_classes,
    thing_classes=thing_classes,
    stuff_classes=stuff_classes)

num_points = 1024  # 12544 at 1024 px (official); images here are 128 px
model = dict(
    train_cfg=dict(
        criterion=dict(
            type='SEEMLoss',
            assigner=dict(
                type='PromptAwareHungarianAssigner', num_points=num_points),
            prompt_simulator=dict(
                type='InteractivePromptSimulator',
                max_instances=4,  # 10 in the official recipe
                max_rounds=2),  # 5 in the official recipe
            num_points=num_points,
            oversample_ratio=3.0,
            importance_sample_ratio=0.75,
            class_names=vocabulary,
            seed=0)),
    test_cfg=dict(vocabulary=vocabulary))

data_root = 'data/synthetic/'
image_size = (128, 128)
train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadPanopticAnnotations', with_bbox=True,
         with_mask=True, with_seg=True),
    dict(type='LoadReferringAnnotations'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    # small-scale jitter for 128 px images (COCO: 0.1-2.0 at 1024)
    dict(type='mmdet.RandomResize', scale=image_size, ratio_range=(0.8, 1.25),
         resize_type='mmdet.Resize', keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=image_size, crop_type='absolute',
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='SampleReferringTexts', max_refs=4),
    dict(type='PackSEEMInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type='RefCocoPanopticDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(
            img='train2017/', seg='annotations/panoptic_train2017/'),
        ref_file='annotations/refs_train.json',
        filter_cfg=dict(filter_empty_gt=False, min_size=8),
        pipeline=train_pipeline))

max_iters = 2000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# random init and a small model: everything trains, higher lr than COCO's
optim_wrapper = dict(
    type='OptimWrapper',  # CPU: never AmpOptimWrapper
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, eps=1e-8,
                   betas=(0.9, 0.999)),
    # - the class / grounding temperature exp(logit_scale) starts at e
    #   (official init, meant for CLIP-pretrained encoders) and caps softmax
    #   confidences well under the 0.8 panoptic threshold: let it move 10x
    #   faster, without weight decay;
    # - the random-init text encoder learns 10x slower than the image side:
    #   while the image side does not tell shapes apart, the class loss
    #   pulls every thing name to one embedding (cosine 1.00 after 500
    #   iterations at lr 3e-4), which removes the class signal that would
    #   teach it to; slower, it still collapses by iteration 1000.
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        custom_keys={
            'logit_scale': dict(lr_mult=10.0, decay_mult=0.0),
            'lang_encoder.lang_encoder': dict(lr_mult=0.1),
            'lang_encoder.lang_proj': dict(lr_mult=0.1),
        }),
    clip_grad=dict(max_norm=5.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(0.889 * max_iters), int(0.963 * max_iters)],
         gamma=0.1),
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000,
                    max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmdet.DetVisualizationHook'))
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
randomness = dict(seed=0)
