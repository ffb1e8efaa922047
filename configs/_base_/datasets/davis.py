# DAVIS semi-supervised video object segmentation (J&F, VOSMetric) with
# SEEM's visual referring: frame 0 + its mask prompt every later frame
# (VideoTestLoop, mmseem/apis/video.py). Layout under data_root (DAVIS 2017
# trainval, 480p; DAVIS 2016 binary masks also work):
#   data/DAVIS/JPEGImages/480p/<seq>/00000.jpg ...
#   data/DAVIS/Annotations/480p/<seq>/00000.png ...
#   data/DAVIS/ImageSets/2017/val.txt
# Frames must come in order: batch_size 1, DefaultSampler(shuffle=False).
dataset_type = 'DAVISDataset'
data_root = 'data/DAVIS/'
backend_args = None

test_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    # official DAVIS/VOS test size: short side 800, long side <= 1333
    dict(type='mmdet.Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_path', 'ori_shape', 'img_shape', 'scale_factor',
                    'seq_name', 'frame_idx', 'num_frames', 'num_objects',
                    'ref_img_path', 'ref_seg_map_path', 'seg_map_path')),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages/480p', seg_map_path='Annotations/480p'),
        ann_file='ImageSets/2017/val.txt',
        test_mode=True,
        pipeline=test_pipeline))
# test only: propagation needs VideoTestLoop (no video ValLoop)
test_evaluator = dict(type='VOSMetric')
test_cfg = dict(type='VideoTestLoop', reference='first')
