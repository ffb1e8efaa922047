# SEEM Focal-T v1 training, the official recipe (assets/readmes/TRAIN.md +
# configs/seem/focalt_unicl_lang_v1.yaml): COCO panoptic train2017 with
# RefCOCOg (umd) sentences, generic + grounding + interactive tasks jointly,
# 16 images per iteration (2 per GPU x 8 GPUs), 50 epochs, starting from the
# X-Decoder Focal-T checkpoint with backbone, pixel decoder and language
# encoder frozen.
#   python tools/model_converters/seem2mmseem.py xdecoder_focalt_last.pt \
#       checkpoints/xdecoder_focalt_last_mmseem.pth \
#       --config configs/seem/seem_focalt_coco.py --partial
# (--partial: the spatial-prompt parts, absent from X-Decoder, are listed
# and keep their random initialisation, as in the official training)
#   bash tools/dist_train.sh configs/seem/seem_focalt_coco.py 8 --amp
# Data: data/coco/{train2017,val2017,annotations/panoptic_*}, and
# data/refcoco/refcocog/{refs(umd).p,instances.json} (mmdet's RefCOCO layout).
# The official set also drops RefCOCOg-umd val images from training
# ("filtrefgumdval": the referring benchmark's images); to match, write
#   python tools/dataset_converters/filter_refcoco_images.py \
#       data/coco/annotations/panoptic_train2017.json \
#       'data/refcoco/refcocog/refs(umd).p' \
#       data/coco/annotations/panoptic_train2017_filtrefgumdval.json
# and set train_dataloader.dataset.ann_file =
# 'annotations/panoptic_train2017_filtrefgumdval.json' below (the official
# download panoptic_train2017_filtrefgumdval_filtvlp.json also drops the
# COCO-Karpathy test images; that filter is not reproduced here).
_base_ = ['./seem_focalt-v1_coco-panoptic.py']

model = dict(
    # SOLVER.FIX_PARAM: requires_grad=False for every parameter whose name
    # contains one of these (the language encoder's lang_proj and
    # logit_scale included, as in the official trainer)
    frozen_modules=('backbone', 'pixel_decoder', 'lang_encoder'),
    train_cfg=dict(
        criterion=dict(
            type='SEEMLoss',
            assigner=dict(
                type='PromptAwareHungarianAssigner',
                num_points=12544),  # TRAIN_NUM_POINTS
            prompt_simulator=dict(
                type='InteractivePromptSimulator',
                max_instances=10,  # STROKE_SAMPLER.MAX_CANDIDATE
                max_rounds=5),  # SPATIAL.MAX_ITER
            num_points=12544,
            oversample_ratio=3.0,
            importance_sample_ratio=0.75,
            no_object_weight=0.1,
            grounding_text_weight=2.0,
            grounding_class_weight=0.5,
            max_grounding=4,  # GROUNDING.MAX_LEN 5 -> randint(1, 4)
            class_names='mmdet.CocoPanopticDataset')))

data_root = 'data/coco/'
image_size = (1024, 1024)  # COCO.INPUT.IMAGE_SIZE
train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadPanopticAnnotations', with_bbox=True,
         with_mask=True, with_seg=True),
    dict(type='LoadReferringAnnotations'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    # large-scale jitter: MIN_SCALE 0.1, MAX_SCALE 2.0, crop 1024
    dict(type='mmdet.RandomResize', scale=image_size, ratio_range=(0.1, 2.0),
         resize_type='mmdet.Resize', keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=image_size, crop_type='absolute',
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='SampleReferringTexts', max_refs=4),
    dict(type='PackSEEMInputs'),
]
train_dataloader = dict(
    batch_size=2,  # TRAIN.BATCH_SIZE_PER_GPU (x 8 GPUs = 16)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type='RefCocoPanopticDataset',
        data_root=data_root,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(
            img='train2017/', seg='annotations/panoptic_train2017/'),
        ref_file='../refcoco/refcocog/refs(umd).p',
        ref_ann_file='../refcoco/refcocog/instances.json',
        ref_split='train',
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=train_pipeline))

# 50 epochs of 118287 images at 16 per iteration: 7393 it/epoch
max_iters = 50 * 7393  # 369650
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=10 * 7393)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# SOLVER: AdamW, BASE_LR 1e-4, WEIGHT_DECAY 0.05 (0 for norms and
# embeddings), full-model gradient clipping at 5.0, FIX_PARAM backbone /
# pixel_decoder / lang_encoder (model.frozen_modules above: no gradient
# is computed through them).
# FP16 True in TRAIN.md: on GPU use AmpOptimWrapper (`tools/train.py --amp`
# or the commented type below); the CPU must keep OptimWrapper.
optim_wrapper = dict(
    type='OptimWrapper',
    # type='AmpOptimWrapper', loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05, eps=1e-8,
                   betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        custom_keys={
            'query_feat': dict(decay_mult=0.0),
            'query_embed': dict(decay_mult=0.0),
            'level_embed': dict(decay_mult=0.0),
            'spatial_embed': dict(decay_mult=0.0),
            'spatial_featured': dict(decay_mult=0.0),
            'pn_indicator': dict(decay_mult=0.0),
        }),
    clip_grad=dict(max_norm=5.0, norm_type=2))
# WarmupMultiStepLR with WARMUP_FACTOR 1.0 (no warm-up), STEPS
# [0.88889, 0.96296] of the iterations, GAMMA 0.1
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(0.88889 * max_iters), int(0.96296 * max_iters)],
         gamma=0.1),
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=7393,
                    max_keep_ckpts=3, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmdet.DetVisualizationHook'))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
load_from = 'checkpoints/xdecoder_focalt_last_mmseem.pth'
