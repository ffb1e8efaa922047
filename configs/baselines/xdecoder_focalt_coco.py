# X-Decoder Focal-T baseline in the same system as SEEM: the SEEM
# architecture without the spatial-prompt parts (no visual sampler, no
# spatial queries, no memory prompts), trained on the generic and grounding
# tasks only, as X-Decoder was (its captioning / retrieval heads are not
# implemented in mmseem). Same data, schedule and frozen parts as
# configs/seem/seem_focalt_coco.py, so the two train side by side:
#   mim train mmseem xdecoder_focalt_coco.py --launcher pytorch --gpus 8
# Evaluating the official X-Decoder Focal-T weights (COCO panoptic val):
#   python tools/model_converters/seem2mmseem.py xdecoder_focalt_last.pt \
#       checkpoints/xdecoder_focalt_last_mmseem.pth \
#       --config configs/baselines/xdecoder_focalt_coco.py
#   mim test mmseem xdecoder_focalt_coco.py \
#       --checkpoint checkpoints/xdecoder_focalt_last_mmseem.pth
# The conversion is strict except for the captioning / retrieval tensors,
# which are dropped and listed.
_base_ = ['../seem/seem_focalt_coco.py']

model = dict(
    sem_seg_head=dict(predictor=dict(spatial=False)),
    train_cfg=dict(criterion=dict(tasks=('generic', 'grounding'))))
# X-Decoder's own starting point is the UniCL/Florence-pretrained backbone
# and language encoder; set load_from to a converted checkpoint of them (or
# of X-Decoder itself for fine-tuning).
load_from = None
