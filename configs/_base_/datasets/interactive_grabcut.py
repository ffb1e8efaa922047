# GrabCut: 50 images, one object each (RITM / f-BRS GrabCut.zip).
# Layout under data_root:
#   data/GrabCut/data_GT/<name>.jpg|.bmp      images
#   data/GrabCut/boundary_GT/<name>.bmp       masks: 255 object, 128 band
#                                             (ignored), 0 background
_base_ = ['./interactive_clicks.py']
dataset_type = 'GrabCutDataset'
data_root = 'data/GrabCut/'
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='data_GT/', seg='boundary_GT/')))
val_dataloader = test_dataloader
