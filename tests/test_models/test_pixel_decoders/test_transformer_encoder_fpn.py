"""Tests of SEEM's transformer_encoder_fpn pixel decoder and the mmdet
MSDeformAttn adapter (tiny widths, CPU)."""
import json
import os.path as osp

import pytest
import torch

from mmseem.models.pixel_decoders import (MSDeformAttnPixelDecoderAdapter,
                                          TransformerEncoderPixelDecoder)
from mmseem.registry import MODELS

MANIFEST_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'data', 'official_keys')
IN_CHANNELS = (16, 32, 64, 128)
TINY = dict(
    in_channels=IN_CHANNELS,
    strides=(4, 8, 16, 32),
    feat_channels=32,
    out_channels=24,
    norm_cfg=dict(type='GN', num_groups=8),
    transformer_enc_layers=2,
    transformer_nheads=4,
    transformer_dim_feedforward=64)


def backbone_feats(h=64, w=64, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        f'res{i + 2}': torch.randn(
            batch, c, -(-h // (4 * 2**i)), -(-w // (4 * 2**i)), generator=g)
        for i, c in enumerate(IN_CHANNELS)
    }


def expected_pixel_decoder_keys(chs, conv=512, mask=512, layers=6,
                                ffn=2048):
    """Official ``sem_seg_head.pixel_decoder.*`` names/shapes (minus the
    prefix), enumerated from official transformer_encoder_fpn.py."""
    keys = {}
    for i, c in enumerate(chs[:-1]):
        keys[f'adapter_{i + 1}.weight'] = [conv, c, 1, 1]
        keys[f'layer_{i + 1}.weight'] = [conv, conv, 3, 3]
        for n in (f'adapter_{i + 1}', f'layer_{i + 1}'):
            keys[n + '.norm.weight'] = [conv]
            keys[n + '.norm.bias'] = [conv]
    n = f'layer_{len(chs)}'
    keys[n + '.weight'] = [conv, conv, 3, 3]
    keys[n + '.norm.weight'] = [conv]
    keys[n + '.norm.bias'] = [conv]
    keys['mask_features.weight'] = [mask, conv, 3, 3]
    keys['mask_features.bias'] = [mask]
    keys['input_proj.weight'] = [conv, chs[-1], 1, 1]
    keys['input_proj.bias'] = [conv]
    for i in range(layers):
        p = f'transformer.encoder.layers.{i}.'
        keys[p + 'self_attn.in_proj_weight'] = [3 * conv, conv]
        keys[p + 'self_attn.in_proj_bias'] = [3 * conv]
        keys[p + 'self_attn.out_proj.weight'] = [conv, conv]
        keys[p + 'self_attn.out_proj.bias'] = [conv]
        keys[p + 'linear1.weight'] = [ffn, conv]
        keys[p + 'linear1.bias'] = [ffn]
        keys[p + 'linear2.weight'] = [conv, ffn]
        keys[p + 'linear2.bias'] = [conv]
        for nm in ('norm1', 'norm2'):
            keys[p + nm + '.weight'] = [conv]
            keys[p + nm + '.bias'] = [conv]
    return keys


def shapes(module):
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def test_output_convention_shapes():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='TransformerEncoderPixelDecoder',
                              **TINY)).eval()
    feats = backbone_feats()
    with torch.no_grad():
        mask_features, ms = model(feats)
        mf2, enc, ms2 = model.forward_features(feats)
    assert mask_features.shape == (2, 24, 16, 16)  # 1/4
    # lowest to highest resolution: 1/32, 1/16, 1/8
    assert [tuple(t.shape) for t in ms] == [(2, 32, 2, 2), (2, 32, 4, 4),
                                            (2, 32, 8, 8)]
    assert enc.shape == (2, 32, 2, 2)  # encoder memory at 1/32
    assert torch.equal(mf2, mask_features)
    assert all(torch.equal(a, b) for a, b in zip(ms, ms2))
    # a list in res2..res5 order gives the same result
    with torch.no_grad():
        mf3, _ = model([feats[f'res{i}'] for i in range(2, 6)])
    assert torch.equal(mf3, mask_features)


def test_transformer_is_post_norm_and_changes_res5():
    model = TransformerEncoderPixelDecoder(**TINY).eval()
    assert model.transformer.encoder.norm is None
    assert len(model.transformer.encoder.layers) == 2
    feats = backbone_feats()
    with torch.no_grad():
        _, enc, _ = model.forward_features(feats)
        proj = model.input_proj(feats['res5'])
    assert not torch.allclose(enc, proj)
    # post-norm: each output token is layer-normalised (norm2 = identity
    # affine at init)
    tok = enc.flatten(2)
    assert torch.allclose(tok.mean(1), torch.zeros_like(tok.mean(1)),
                          atol=1e-5)
    pre = TransformerEncoderPixelDecoder(**TINY, transformer_pre_norm=True)
    assert isinstance(pre.transformer.encoder.norm, torch.nn.LayerNorm)


def test_state_dict_matches_official_structure():
    with torch.device('meta'):
        model = TransformerEncoderPixelDecoder(in_channels=(96, 192, 384,
                                                            768))
    assert shapes(model) == expected_pixel_decoder_keys((96, 192, 384, 768))


@pytest.mark.parametrize('manifest,chs', [
    ('seem_focalt_v1', (96, 192, 384, 768)),
    ('seem_focall_v1', (192, 384, 768, 1536)),
])
def test_state_dict_matches_official_manifest(manifest, chs):
    path = osp.join(MANIFEST_DIR, manifest + '.json')
    if not osp.exists(path):
        pytest.skip(f'{path} not present')
    prefix = 'sem_seg_head.pixel_decoder.'
    with open(path) as f:
        keys = json.load(f)['keys']
    expected = {
        k[len(prefix):]: list(v)
        for k, v in keys.items() if k.startswith(prefix)
    }
    with torch.device('meta'):
        model = TransformerEncoderPixelDecoder(in_channels=chs)
    got = shapes(model)
    assert set(got) == set(expected), set(got) ^ set(expected)
    assert got == expected


def test_gradients_flow():
    torch.manual_seed(0)
    model = TransformerEncoderPixelDecoder(**TINY)
    feats = {k: v.requires_grad_() for k, v in backbone_feats().items()}
    mask_features, ms = model(feats)
    (mask_features.mean() + sum(t.mean() for t in ms)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
    for k, v in feats.items():
        assert v.grad is not None and v.grad.abs().sum() > 0, k


def test_odd_size_follows_res2():
    model = TransformerEncoderPixelDecoder(**TINY).eval()
    with torch.no_grad():
        mask_features, ms = model(backbone_feats(70, 90, batch=1))
    assert mask_features.shape == (1, 24, 18, 23)
    assert [t.shape[-2:] for t in ms] == [(3, 3), (5, 6), (9, 12)]


def test_errors():
    model = TransformerEncoderPixelDecoder(**TINY)
    feats = backbone_feats()
    feats.pop('res3')
    with pytest.raises(KeyError, match='res3'):
        model(feats)
    with pytest.raises(ValueError, match='num_groups'):
        TransformerEncoderPixelDecoder(
            **dict(TINY, norm_cfg=dict(type='GN', num_groups=5)))
    with pytest.raises(ValueError, match='one entry per in_features'):
        TransformerEncoderPixelDecoder(**dict(TINY, in_channels=(16, 32)))


def test_msdeformattn_adapter_same_convention():
    torch.manual_seed(0)
    cfg = dict(
        type='MSDeformAttnPixelDecoderAdapter',
        in_channels=IN_CHANNELS,
        strides=(4, 8, 16, 32),
        feat_channels=32,
        out_channels=24,
        pixel_decoder=dict(
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=8),
            act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=1,
                layer_cfg=dict(
                    self_attn_cfg=dict(
                        embed_dims=32,
                        num_heads=4,
                        num_levels=3,
                        num_points=2,
                        dropout=0.0,
                        batch_first=True),
                    ffn_cfg=dict(
                        embed_dims=32,
                        feedforward_channels=64,
                        num_fcs=2,
                        ffn_drop=0.0,
                        act_cfg=dict(type='ReLU', inplace=True)))),
            positional_encoding=dict(num_feats=16, normalize=True)))
    model = MODELS.build(cfg)
    assert isinstance(model, MSDeformAttnPixelDecoderAdapter)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        mask_features, ms = model(backbone_feats())
        _, enc, _ = model.forward_features(backbone_feats())
    assert enc is None
    assert mask_features.shape == (2, 24, 16, 16)
    assert [tuple(t.shape) for t in ms] == [(2, 32, 2, 2), (2, 32, 4, 4),
                                            (2, 32, 8, 8)]


def test_on_focalnet_features():
    from mmseem.models.backbones import FocalNet
    torch.manual_seed(0)
    backbone = FocalNet(arch='test').eval()
    decoder = TransformerEncoderPixelDecoder(
        **dict(TINY, in_channels=backbone.out_channels,
               strides=backbone.strides)).eval()
    with torch.no_grad():
        mask_features, ms = decoder(backbone(torch.randn(1, 3, 64, 64)))
    assert mask_features.shape == (1, 24, 16, 16)
    assert [t.shape[-1] for t in ms] == [2, 4, 8]


def test_numerics_match_official():
    """Golden values produced by the official TransformerEncoderPixelDecoder
    (GN with 8 groups) given the same name-seeded weights and inputs."""
    import zlib
    model = TransformerEncoderPixelDecoder(**TINY)
    sd = model.state_dict()
    for k in sorted(sd):
        g = torch.Generator().manual_seed(zlib.crc32(k.encode()))
        is_norm_w = k.endswith('weight') and 'norm' in k.split('.')[-2]
        sd[k] = torch.randn(sd[k].shape, generator=g) * 0.2 + float(is_norm_w)
    model.load_state_dict(sd)
    model.eval()
    g = torch.Generator().manual_seed(0)
    feats = {
        f'res{i + 2}': torch.randn(
            1, c, 8 // 2**i + 2, 10 // 2**i + 2, generator=g)
        for i, c in enumerate(IN_CHANNELS)
    }
    with torch.no_grad():
        mf, enc, ms = model.forward_features(feats)
    assert mf.sum().item() == pytest.approx(863.8608, rel=1e-5)
    assert mf.abs().sum().item() == pytest.approx(5214.4707, rel=1e-5)
    assert enc.abs().sum().item() == pytest.approx(236.0499, rel=1e-5)
    assert [t.abs().sum().item() for t in ms] == pytest.approx(
        [113.659, 208.0699, 489.0374], rel=1e-5)
