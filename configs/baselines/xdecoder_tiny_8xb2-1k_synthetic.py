# X-Decoder baseline: the tiny SEEM architecture without visual prompts
# (SEEMDecoder(spatial=False): no spatial queries / memory prompts), trained
# on the generic + grounding tasks only, same data, schedule and batch as
# configs/seem/seem_tiny_8xb2-1k_synthetic.py.
_base_ = ['../seem/seem_tiny_8xb2-1k_synthetic.py']
model = dict(
    sem_seg_head=dict(predictor=dict(spatial=False)),
    train_cfg=dict(criterion=dict(tasks=('generic', 'grounding'))))
