# SEEM Focal-L (v1): official configs/seem/focall_unicl_lang_v1.yaml
# (plain `focal` FocalNet, width 192, depths 2-2-18-2, focal level 4).
_base_ = ['./seem_focalt.py']
model = dict(
    backbone=dict(type='FocalNet', arch='large', drop_path_rate=0.3),
    sem_seg_head=dict(
        pixel_decoder=dict(in_channels=[192, 384, 768, 1536])))
