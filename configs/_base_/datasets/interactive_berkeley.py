# Berkeley: 96 images with 100 objects, one object per image/mask pair
# (RITM / f-BRS Berkeley.zip). Layout under data_root:
#   data/Berkeley/images/<name>.jpg           images
#   data/Berkeley/masks/<name>.png            masks: 255 object, 128 band
#                                             (ignored), 0 background
_base_ = ['./interactive_clicks.py']
dataset_type = 'BerkeleyDataset'
data_root = 'data/Berkeley/'
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='images/', seg='masks/')))
val_dataloader = test_dataloader
