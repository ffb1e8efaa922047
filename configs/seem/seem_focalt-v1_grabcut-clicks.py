# SEEM Focal-T v1, interactive (click) segmentation on GrabCut
# with the standard protocol (RITM / SimpleClick: each object alone, the
# next click at the most interior pixel of the larger error region,
# stop at IoU >= 0.95 or 20 clicks; NoC@85/90/95, NoF@85/90, mIoU@k).
# The 128 band around each object boundary is ignored.
# Layout (configs/_base_/datasets/interactive_grabcut.py):
#   data/GrabCut/data_GT/*.jpg|.bmp, data/GrabCut/boundary_GT/*.bmp
#   python tools/model_converters/seem2mmseem.py seem_focalt_v1.pt \
#       checkpoints/seem_focalt_v1_mmseem.pth
#   mim test mmseem seem_focalt-v1_grabcut-clicks.py \
#       --checkpoint checkpoints/seem_focalt_v1_mmseem.pth
# SEEM's own protocol (an image's objects prompted jointly in groups of
# 5, clicks by error area, 3x3 clicks, stop when every IoU > 0.9;
# NoC@50/80/85/90): append
#   --cfg-options model.test_cfg.interactive_protocol=seem \
#       test_evaluator.protocol=seem
# The two protocols' NoC figures are not comparable.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/interactive_grabcut.py',
    '../_base_/models/seem_focalt_clicks.py',
]
