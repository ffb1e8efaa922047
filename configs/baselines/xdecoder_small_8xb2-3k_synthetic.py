# X-Decoder baseline: the small SEEM architecture (seem_small.py) without
# visual prompts (SEEMDecoder(spatial=False): no spatial queries / memory
# prompts), trained on the generic + grounding tasks only, same data,
# schedule, optimizer and batch as configs/seem/seem_small_8xb2-3k_synthetic.py.
# Evaluate with seem_small_synthetic-{panoptic,referring}.py plus
# model.sem_seg_head.predictor.spatial=False.
_base_ = ['../seem/seem_small_8xb2-3k_synthetic.py']
model = dict(
    sem_seg_head=dict(predictor=dict(spatial=False)),
    train_cfg=dict(criterion=dict(tasks=('generic', 'grounding'))))
