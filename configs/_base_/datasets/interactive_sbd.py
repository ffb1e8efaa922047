# SBD val: 2857 images, 6671 instances, every instance one object (RITM
# SBDEvaluationDataset). Layout: the benchmark_RELEASE/dataset folder of
# the SBD tarball under data_root:
#   data/SBD/dataset/img/<id>.jpg             images
#   data/SBD/dataset/inst/<id>.mat            GTinst.Segmentation: 0
#                                             background, k instance k
#   data/SBD/dataset/val.txt                  split (one id per line)
_base_ = ['./interactive_clicks.py']
dataset_type = 'SBDInteractiveDataset'
data_root = 'data/SBD/dataset/'
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.txt',
        data_prefix=dict(img='img/', seg='inst/')))
val_dataloader = test_dataloader
