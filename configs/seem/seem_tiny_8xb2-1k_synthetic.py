# Training the tiny random-init SEEM (seem_tiny_synthetic-panoptic.py's
# model) on mmseem's synthetic set, on CPU: generic panoptic + referring
# (grounding) + interactive (spatial) tasks jointly, as SEEM trains on COCO.
#   python tools/dataset_converters/make_synthetic_coco.py
#   python tools/train.py configs/seem/seem_tiny_8xb2-1k_synthetic.py
# Same data, loss and schedule shape as seem_small_8xb2-3k_synthetic.py
# (configs/_base_/seem_synthetic_training.py, _base_/schedules/
# synthetic_cpu.py); what differs: the model, lr 3e-4, 1000 iterations,
# validation / checkpoints every 250, 2 corrective rounds.
_base_ = [
    './seem_tiny_synthetic-panoptic.py',
    '../_base_/schedules/synthetic_cpu.py',
    '../_base_/seem_synthetic_training.py',
]
model = dict(
    train_cfg=dict(criterion={{_base_.seem_criterion_tiny}}),
    test_cfg=dict(vocabulary={{_base_.seem_vocabulary}}))
train_dataloader = {{_base_.seem_train_dataloader}}
# merged into the evaluation config's timer / logger / visualization hooks
default_hooks = dict(
    logger=dict(log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250,
                    max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'))

max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=250)
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(0.889 * max_iters), int(0.963 * max_iters)],
         gamma=0.1),
]
