# Training the small random-init SEEM (configs/_base_/models/seem_small.py,
# as in seem_small_synthetic-{panoptic,referring,interactive}.py) on
# mmseem's synthetic set, on CPU: generic panoptic + referring (grounding) +
# interactive (spatial) tasks jointly, as SEEM trains on COCO. The main job
# (tools/run_default.sh) trains and evaluates this config.
#   python tools/dataset_converters/make_synthetic_coco.py
#   python tools/train.py configs/seem/seem_small_8xb2-3k_synthetic.py
# "8xb2" keeps mmdet's naming of the per-GPU batch; on one CPU it is 1x2.
# Data, loss and prompt simulator: configs/_base_/seem_synthetic_training.py;
# schedule: configs/_base_/schedules/synthetic_cpu.py.
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
_base_ = [
    './seem_small_synthetic-panoptic.py',
    '../_base_/schedules/synthetic_cpu.py',
    '../_base_/seem_synthetic_training.py',
]
model = dict(
    # The text encoder trains for the sentences while class names go
    # through its frozen snapshot (FrozenVocabularyLanguageEncoder, see
    # configs/_base_/models/seem_small.py).
    train_cfg=dict(criterion={{_base_.seem_criterion}}),
    test_cfg=dict(vocabulary={{_base_.seem_vocabulary}}))
train_dataloader = {{_base_.seem_train_dataloader}}
# merged into the evaluation config's timer / logger / visualization hooks
default_hooks = dict(
    logger=dict(log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000,
                    max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'))
optim_wrapper = dict(
    # the class / grounding temperature exp(logit_scale) starts at e
    # (official init, meant for CLIP-pretrained encoders) and caps softmax
    # confidences well under the 0.8 panoptic threshold: let it move 10x
    # faster, without weight decay
    paramwise_cfg=dict(
        custom_keys={'logit_scale': dict(lr_mult=10.0, decay_mult=0.0)}))
