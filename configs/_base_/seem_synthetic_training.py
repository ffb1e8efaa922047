# What training SEEM on mmseem's synthetic set adds to an evaluation config
# (seem_{small,tiny}_synthetic-panoptic.py) and the shared CPU schedule:
# the joint data (COCO panoptic for the generic task + each image's
# referring sentences for the grounding task; the interactive task draws
# its prompts from the same GT masks in the loss) and the loss with its
# prompt simulator. Names start with seem_ so that they do not clash with
# the evaluation config's; a training config picks them up with
#   train_dataloader = {{_base_.seem_train_dataloader}}
#   model = dict(train_cfg=dict(criterion={{_base_.seem_criterion}}), ...)
# Generate the data first:
#   python tools/dataset_converters/make_synthetic_coco.py
seem_data_root = 'data/synthetic/'
seem_image_size = (128, 128)
seem_thing_classes = ['circle', 'square', 'triangle', 'star', 'cross']
seem_stuff_classes = ['sky', 'grass', 'wall']
seem_vocabulary = dict(
    thing_classes=seem_thing_classes, stuff_classes=seem_stuff_classes)
seem_train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadPanopticAnnotations', with_bbox=True,
         with_mask=True, with_seg=True),
    dict(type='LoadReferringAnnotations'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    # small-scale jitter for 128 px images (COCO: 0.1-2.0 at 1024)
    dict(type='mmdet.RandomResize', scale=seem_image_size,
         ratio_range=(0.8, 1.25), resize_type='mmdet.Resize',
         keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=seem_image_size,
         crop_type='absolute', recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='SampleReferringTexts', max_refs=4),
    dict(type='PackSEEMInputs'),
]
seem_train_dataloader = dict(
    _delete_=True,  # evaluation configs set train_dataloader = None
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type='RefCocoPanopticDataset',
        data_root=seem_data_root,
        metainfo=dict(
            classes=seem_thing_classes + seem_stuff_classes,
            thing_classes=seem_thing_classes,
            stuff_classes=seem_stuff_classes),
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(
            img='train2017/', seg='annotations/panoptic_train2017/'),
        ref_file='annotations/refs_train.json',
        filter_cfg=dict(filter_empty_gt=False, min_size=8),
        pipeline=seem_train_pipeline))
seem_num_points = 1024  # 12544 at 1024 px (official); images here are 128 px
seem_criterion = dict(
    type='SEEMLoss',
    assigner=dict(
        type='PromptAwareHungarianAssigner', num_points=seem_num_points),
    # Deviations from the official simulator, for 128 px synthetic images
    # (each measured, see README "embedded default"):
    prompt_simulator=dict(
        type='InteractivePromptSimulator',
        max_instances=4,  # official 10; the images hold 2-4 things
        max_rounds=5,  # = official SPATIAL.MAX_ITER (v1 recipe here: 2)
        # official: point / polygon / scribble / circle 0.25 each. The
        # stroke presets are sized for 1024 px images: at 128 px one circle
        # stroke (brush 10-50 px) covers 85-100 % of an object, which leaves
        # corrective clicks nothing to learn; favour points (clicks) and
        # thin scribbles, keep the smallest circle preset.
        shape_probs=dict(point=0.5, polygon=0.15, scribble=0.25,
                         circle=0.1),
        # a point prompt is one pixel (official: 1-20 random pixels of the
        # object, which already outline it): the first round then looks
        # like the benchmark's single click and corrective clicks matter
        max_points=1,
        scribble_presets=dict(rand_curve_small=1.0),  # official: + rand_curve
        circle_presets=dict(object_like_small=1.0)),  # official: 3 presets
    num_points=seem_num_points,
    # the spatial (interactive) loss at half the official weights (ce / bce
    # / dice 0.4 / 1 / 1): the spatial queries start as copies of the object
    # queries, and at full weight the interactive task kept SEEM small from
    # learning the thing classes (2k iterations: PQ things 11.7, mask AP
    # 60.4; at half weight 38.6 / 69.3, clicks unchanged: mIoU@1 91.4 on
    # 88 val objects; X-Decoder small, no spatial task: 53.0 / 66.4)
    spatial_weights=dict(ce=0.2, bce=0.5, dice=0.5),
    oversample_ratio=3.0,
    importance_sample_ratio=0.75,
    class_names=seem_vocabulary,
    seed=0)
# the tiny test model (seem_tiny_8xb2-1k_synthetic.py) keeps 2 corrective
# rounds: its tests and speed benchmarks measure the pipeline, not accuracy
seem_criterion_tiny = dict(
    seem_criterion,
    prompt_simulator=dict(seem_criterion['prompt_simulator'], max_rounds=2))
