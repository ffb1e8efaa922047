# A small random-init SEEM for CPU training on the synthetic set
# (seem_small_8xb2-2k_synthetic.py, ~15 CPU minutes): every part of
# seem_focalt.py at reduced width -- FocalNet 32-d (depths 1-1-1-1), 64-d
# pixel decoder / decoder / text encoder, 16 object queries (the synthetic
# images hold 3-6 things + up to 3 stuff segments), 3 decoder layers.
# seem_tiny.py (16-d / 32-d, 7 queries) stays the model of the tests.
_base_ = ['./seem_focalt.py']
dim = 64
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalNet',
        arch=dict(
            variant='focal_dw',
            embed_dim=32,
            depths=(1, 1, 1, 1),
            focal_levels=(2, 2, 2, 2),
            focal_windows=(3, 3, 3, 3)),
        # layer scale starts blocks near identity (1e-4 officially, for
        # fine-tuning pretrained weights); from scratch the blocks must act
        layerscale_value=1.0,
        drop_path_rate=0.0),
    sem_seg_head=dict(
        pixel_decoder=dict(
            in_channels=[32, 64, 128, 256],
            feat_channels=dim,
            out_channels=dim,
            norm_cfg=dict(type='GN', num_groups=8),
            transformer_enc_layers=1,
            transformer_nheads=4,
            transformer_dim_feedforward=2 * dim),
        predictor=dict(
            lang_encoder=dict(
                lang_encoder=dict(width=dim, layers=2, heads=4),
                dim_lang=dim,
                dim_proj=dim),
            in_channels=dim,
            hidden_dim=dim,
            dim_proj=dim,
            num_queries=16,
            nheads=4,
            dim_feedforward=2 * dim,
            dec_layers=3,
            mask_dim=dim,
            max_spatial_len=(64, 64, 64, 64),
            num_spatial_memories=8)),
    test_cfg=dict(max_per_image=20))
