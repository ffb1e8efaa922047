default_scope = 'mmseem'
custom_imports = dict(imports=['mmseem'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; without CUDA, tools/train.py and tools/test.py switch to
    # gloo themselves (mmseem.utils.dist_env), so dist_train.sh runs on CPU
    dist_cfg=dict(backend='nccl'),
)
# In the mmseem scope `type='CheckpointHook'` builds
# mmseem.engine.AtomicCheckpointHook (mmengine's hook + atomic writes: a
# temporary file renamed into place before max_keep_ckpts removes an older
# one; `resume=True` takes the newest *readable* checkpoint of the work dir,
# resolving a `last_checkpoint` that points outside a copied work dir);
# mmengine's default hooks use that name too, so no config needs to ask.
# SEEM's task branches (grounding, spatial prompts) run only for samples that
# carry texts / prompts, so a rank may leave parameters without gradient in
# an iteration; DDP must look for them or the ranks' all-reduces pair up
# wrongly and the run hangs or dies. Official: trainer/utils_trainer.py,
# DDP(find_unused_parameters=opt.get('FIND_UNUSED_PARAMETERS', True)).
find_unused_parameters = True
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SEEMVisualizer', vis_backends=vis_backends,
    name='visualizer')
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
