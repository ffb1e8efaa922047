# SEEM Focal-T (v1): official configs/seem/focalt_unicl_lang_v1.yaml.
# Attribute names follow the official model so released checkpoints convert
# key-for-key (tools/model_converters/seem2mmseem.py).
data_preprocessor = dict(
    type='mmdet.DetDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,  # SEEM works on RGB
    pad_size_divisor=32,
    pad_mask=True,
    mask_pad_value=0,
    pad_seg=True,
    seg_pad_value=255)

model = dict(
    type='SEEM',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='FocalNet', arch='tiny', drop_path_rate=0.3),
    sem_seg_head=dict(
        type='SEEMHead',
        pixel_decoder=dict(
            type='TransformerEncoderPixelDecoder',
            in_channels=[96, 192, 384, 768],
            strides=[4, 8, 16, 32],
            feat_channels=512,
            out_channels=512,
            norm_cfg=dict(type='GN', num_groups=32),
            transformer_enc_layers=6,
            transformer_nheads=8,
            transformer_dim_feedforward=2048),
        predictor=dict(
            type='SEEMDecoder',
            lang_encoder=dict(
                type='LanguageEncoder',
                lang_encoder=dict(
                    type='CLIPTextTransformer',
                    context_length=77,
                    vocab_size=49408,
                    width=512,
                    layers=12,
                    heads=8,
                    autoregressive=True),
                dim_lang=512,
                dim_proj=512),
            in_channels=512,
            hidden_dim=512,
            dim_proj=512,
            num_queries=101,
            nheads=8,
            dim_feedforward=2048,
            dec_layers=9,
            pre_norm=False,
            mask_dim=512,
            max_spatial_len=(512, 512, 512, 512),
            num_spatial_memories=32,
            queries_per_prompt=3)),
    test_cfg=dict(
        task='panoptic',
        semantic_on=True,
        instance_on=True,
        panoptic_on=True,
        object_mask_threshold=0.8,
        overlap_threshold=0.8,
        max_per_image=100,
        seed=0))
# open vocabulary: give the model the evaluated dataset's classes when
# neither the checkpoint meta nor test_cfg.vocabulary set them
custom_hooks = [dict(type='ModelDatasetMetaHook')]
