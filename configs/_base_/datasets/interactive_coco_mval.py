# COCO MVal: 800 COCO images, one object each (RITM / f-BRS
# COCO_MVal.zip). Layout under data_root:
#   data/COCO_MVal/img/<name>.jpg             images
#   data/COCO_MVal/gt/<name>.png              masks: non-zero = object
_base_ = ['./interactive_clicks.py']
dataset_type = 'COCOMValDataset'
data_root = 'data/COCO_MVal/'
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='img/', seg='gt/')))
val_dataloader = test_dataloader
