# A small random-init SEEM for CPU training on the synthetic set
# (seem_small_8xb2-3k_synthetic.py): SEEM's pixel decoder, decoder and
# text encoder of seem_focalt.py at reduced width (64-d, 16 object
# queries, 3 decoder layers) on mmdet's ResNet-18 through BackboneWrapper,
# the backbone of the Mask2Former R18 baseline, so that both are compared
# on the same image encoder. FocalNet at 32-d (depths 1-1-1-1), the
# previous backbone here, learned no thing class in this budget (2k
# iterations, this recipe with the spatial loss at the official weight: PQ
# things 0.0, mask AP 20.1; a linear probe on its res5 features at chance
# for the five shapes); ResNet-18 in the same run: PQ things 5.3, mask AP
# 53.0.
# seem_tiny.py (16-d / 32-d, 7 queries) stays the model of the tests.
_base_ = ['./seem_focalt.py', './resnet18_random_init.py']
dim = 64
model = dict(
    backbone=dict(
        _delete_=True,
        type='BackboneWrapper',
        backbone={{_base_.resnet18_random_init}}),
    sem_seg_head=dict(
        pixel_decoder=dict(
            in_channels=[64, 128, 256, 512],
            feat_channels=dim,
            out_channels=dim,
            norm_cfg=dict(type='GN', num_groups=8),
            transformer_enc_layers=1,
            transformer_nheads=4,
            transformer_dim_feedforward=2 * dim),
        predictor=dict(
            lang_encoder=dict(
                # Deviation: class names go through a frozen snapshot of
                # the random-init text encoder, sentences through the
                # trained one (official: one CLIP-pretrained encoder,
                # fine-tuned, for both). Trained for both, the encoder
                # maps the five thing names onto one embedding (cosine
                # 0.86 -> 0.999: PQ things 0.0); frozen for both, the
                # sentences cannot learn relations ("the star left of the
                # red circle"): referring cIoU 40.3 at 2k iterations
                # against 50.1 with this split (same recipe otherwise).
                # See mmseem/models/language/frozen_vocabulary.py.
                type='FrozenVocabularyLanguageEncoder',
                lang_encoder=dict(width=dim, layers=2, heads=4),
                dim_lang=dim,
                dim_proj=dim,
                # Two deviations for a text encoder trained from random
                # init (official: a CLIP-pretrained encoder fine-tuned):
                # - bare class names, not the 81 prompt templates: at
                #   random init the template words swamp the one word that
                #   differs (thing names at pairwise cosine 0.97 with the
                #   templates, 0.86 bare);
                # - the class temperature exp(logit_scale) starts at e^3
                #   = 20 instead of e^1 = 2.7 (SEEM's init, for checkpoints
                #   that bring their own): at 2.7 the class loss of 4
                #   fixed images is still 2.2 after 300 steps (0.04 after
                #   50 steps at 20).
                prompt_templates=('{}', ),
                logit_scale_init=3.0),
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
