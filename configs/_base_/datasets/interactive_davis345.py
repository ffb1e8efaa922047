# DAVIS interactive subset: 345 frames, one object each (RITM / f-BRS
# DAVIS.zip; not the video set of davis.py). Layout under data_root:
#   data/DAVIS345/img/<name>.jpg              images
#   data/DAVIS345/gt/<name>.png               masks: non-zero = object
_base_ = ['./interactive_clicks.py']
dataset_type = 'DAVIS345Dataset'
data_root = 'data/DAVIS345/'
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img='img/', seg='gt/')))
val_dataloader = test_dataloader
