# A tiny random-weight SEEM: every part of seem_focalt.py at toy width
# (FocalNet 'test' 16-d, 32-d pixel decoder / decoder / text encoder, 7 object
# queries, 3 decoder layers). For tests and CPU smoke runs, not accuracy.
_base_ = ['./seem_focalt.py']
dim = 32
model = dict(
    backbone=dict(_delete_=True, type='FocalNet', arch='test',
                  drop_path_rate=0.0),
    sem_seg_head=dict(
        pixel_decoder=dict(
            in_channels=[16, 32, 64, 128],
            feat_channels=dim,
            out_channels=dim,
            norm_cfg=dict(type='GN', num_groups=8),
            transformer_enc_layers=1,
            transformer_nheads=2,
            transformer_dim_feedforward=64),
        predictor=dict(
            lang_encoder=dict(
                lang_encoder=dict(width=dim, layers=2, heads=2),
                dim_lang=dim,
                dim_proj=dim),
            in_channels=dim,
            hidden_dim=dim,
            dim_proj=dim,
            num_queries=7,
            nheads=2,
            dim_feedforward=64,
            dec_layers=3,
            mask_dim=dim,
            max_spatial_len=(32, 32, 32, 32),
            num_spatial_memories=4)),
    test_cfg=dict(max_per_image=10))
