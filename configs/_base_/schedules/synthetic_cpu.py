# Shared CPU schedule of the small synthetic recipes (SEEM / X-Decoder
# small and tiny on mmseem's synthetic set): iteration based, AdamW with a
# linear warm-up and the official 50-epoch recipe's two lr steps (x0.1 at
# 88.9 % and 96.3 % of training). A config with another length restates
# max_iters in train_cfg and param_scheduler (base values are resolved when
# the base is read).
max_iters = 3000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
optim_wrapper = dict(
    type='OptimWrapper',  # CPU: never AmpOptimWrapper
    # random init and a small model: everything trains, higher lr than
    # COCO's 1e-4
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, eps=1e-8,
                   betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0),
    clip_grad=dict(max_norm=5.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(0.889 * max_iters), int(0.963 * max_iters)],
         gamma=0.1),
]
randomness = dict(seed=0)
