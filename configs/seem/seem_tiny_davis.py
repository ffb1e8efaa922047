# Tiny random-weight SEEM, DAVIS video object segmentation (first-frame mask
# as the visual reference of every frame; J&F via VOSMetric). Smoke runs on
# the single-sequence sample shipped next to the checkout:
#   mim test mmseem configs/seem/seem_tiny_davis.py
# (data_root ../shared/data/davis_car_shadow: flat JPEGImages/ +
# Annotations/ layout; any DAVIS root works with the davis.py base.)
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/davis.py',
    '../_base_/models/seem_tiny.py',
]
data_root = '../shared/data/davis_car_shadow/'
small_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=(128, 72), keep_ratio=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_path', 'ori_shape', 'img_shape', 'scale_factor',
                    'seq_name', 'frame_idx', 'num_frames', 'num_objects',
                    'ref_img_path', 'ref_seg_map_path', 'seg_map_path')),
]
test_dataloader = dict(
    num_workers=0,
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='Annotations'),
        ann_file='',
        pipeline=small_pipeline))
