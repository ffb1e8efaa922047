# Tiny random-weight SEEM, referring segmentation (text -> one mask per
# sentence) on the synthetic set: cIoU / mIoU / Prec@k. Tests / smoke runs:
#   mim test mmseem configs/seem/seem_tiny_synthetic-referring.py
# The model is the one of seem_tiny_synthetic-panoptic.py (same widths); the
# `text` meta key routes SEEM.predict to predict_referring.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_referring.py',
    '../_base_/models/seem_tiny.py',
]
model = dict(
    test_cfg=dict(task='referring'))
