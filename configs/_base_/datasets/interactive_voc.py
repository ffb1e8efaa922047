# Pascal VOC 2012 val: 1449 images, every SegmentationObject instance one
# object, the void border ignored (SEEM's pascalvoc_val, SimpleClick's
# PascalVOC). Layout under data_root:
#   data/VOCdevkit/VOC2012/JPEGImages/<id>.jpg
#   data/VOCdevkit/VOC2012/SegmentationObject/<id>.png   palette PNG:
#       0 background, k instance k, 255 void (gray 220 in SEEM/RITM)
#   data/VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt
_base_ = ['./interactive_clicks.py']
dataset_type = 'VOCInteractiveDataset'
data_root = 'data/VOCdevkit/VOC2012/'
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img='JPEGImages/', seg='SegmentationObject/')))
val_dataloader = test_dataloader
