# SEEM Focal-T v1, DAVIS-2017 val semi-supervised video object segmentation:
# the first frame and its masks are the visual reference prompt of every
# frame (VideoTestLoop, reference='first'; 'previous' prompts frame t with
# frame t-1 and its prediction). J-mean, F-mean, J&F (VOSMetric).
# Layout: data/DAVIS/{JPEGImages,Annotations}/480p/<seq>/*.{jpg,png},
# data/DAVIS/ImageSets/2017/val.txt.
#   mim test mmseem configs/seem/seem_focalt-v1_davis.py \
#       --checkpoint checkpoints/seem_focalt_v1_mmseem.pth
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/davis.py',
    '../_base_/models/seem_focalt.py',
]
