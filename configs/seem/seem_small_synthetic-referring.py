# The small random-init SEEM (configs/_base_/models/seem_small.py),
# referring segmentation (text -> one mask per sentence) on the synthetic
# set: cIoU / mIoU / Prec@k of a seem_small_8xb2-3k_synthetic.py checkpoint.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/synthetic_referring.py',
    '../_base_/models/seem_small.py',
]
model = dict(test_cfg=dict(task='referring'))
