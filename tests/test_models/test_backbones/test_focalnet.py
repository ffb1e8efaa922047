"""Tests of the FocalNet image encoder (tiny widths, CPU)."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from mmseem.models.backbones import FocalNet
from mmseem.models.backbones.focalnet import FocalModulation
from mmseem.registry import MODELS

MANIFEST_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'data', 'official_keys')

TINY = dict(embed_dim=16, depths=(1, 1, 1, 1), focal_levels=(2, 2, 2, 2),
            focal_windows=(3, 3, 3, 3))


def expected_focalnet_keys(dim, depths, levels, windows, depthwise):
    """Official ``backbone.*`` names/shapes (minus the prefix), enumerated
    from the structure of official focal_dw.py / focal.py."""
    keys = {
        'patch_embed.proj.weight': [dim, 3, 7, 7],
        'patch_embed.proj.bias': [dim],
        'patch_embed.norm.weight': [dim],
        'patch_embed.norm.bias': [dim],
    }
    for i, depth in enumerate(depths):
        c = dim * 2**i
        for b in range(depth):
            p = f'layers.{i}.blocks.{b}.'
            keys[p + 'gamma_1'] = [c]
            keys[p + 'gamma_2'] = [c]
            if depthwise:
                for n in ('dw1', 'dw2'):
                    keys[p + n + '.weight'] = [c, 1, 3, 3]
                    keys[p + n + '.bias'] = [c]
            for n in ('norm1', 'norm2'):
                keys[p + n + '.weight'] = [c]
                keys[p + n + '.bias'] = [c]
            m = p + 'modulation.'
            keys[m + 'f.weight'] = [2 * c + levels[i] + 1, c]
            keys[m + 'f.bias'] = [2 * c + levels[i] + 1]
            keys[m + 'h.weight'] = [c, c, 1, 1]
            keys[m + 'h.bias'] = [c]
            keys[m + 'proj.weight'] = [c, c]
            keys[m + 'proj.bias'] = [c]
            for lvl in range(levels[i]):
                k = windows[i] + 2 * lvl
                keys[m + f'focal_layers.{lvl}.0.weight'] = [c, 1, k, k]
            keys[p + 'mlp.fc1.weight'] = [4 * c, c]
            keys[p + 'mlp.fc1.bias'] = [4 * c]
            keys[p + 'mlp.fc2.weight'] = [c, 4 * c]
            keys[p + 'mlp.fc2.bias'] = [c]
        if i < len(depths) - 1:
            p = f'layers.{i}.downsample.'
            keys[p + 'proj.weight'] = [2 * c, c, 3, 3]
            keys[p + 'proj.bias'] = [2 * c]
            keys[p + 'norm.weight'] = [2 * c]
            keys[p + 'norm.bias'] = [2 * c]
        keys[f'norm{i}.weight'] = [c]
        keys[f'norm{i}.bias'] = [c]
    return keys


def shapes(module):
    return {k: list(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize('variant', ['focal_dw', 'focal'])
def test_outputs_names_shapes_strides(variant):
    torch.manual_seed(0)
    model = FocalNet(arch='test', variant=variant).eval()
    assert model.out_features == ['res2', 'res3', 'res4', 'res5']
    assert model.out_channels == dict(res2=16, res3=32, res4=64, res5=128)
    assert model.strides == dict(res2=4, res3=8, res4=16, res5=32)
    spec = model.output_shape()
    assert spec['res4'].channels == 64 and spec['res4'].stride == 16
    assert model.size_divisibility == 32
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        outs = model(x)
    assert list(outs) == ['res2', 'res3', 'res4', 'res5']
    for name, out in outs.items():
        s = model.strides[name]
        assert out.shape == (2, model.out_channels[name], 64 // s, 64 // s)
        assert torch.isfinite(out).all()


def test_variants_differ_like_official():
    dw = FocalNet(arch='test', variant='focal_dw')
    plain = FocalNet(arch='test', variant='focal')
    # focal_dw.py: depth-wise convs and stem padding 3; focal.py: padding 2
    assert hasattr(dw.layers[0].blocks[0], 'dw1')
    assert not hasattr(plain.layers[0].blocks[0], 'dw1')
    assert dw.patch_embed.proj.padding == (3, 3)
    assert plain.patch_embed.proj.padding == (2, 2)
    # same shapes otherwise, but different numerics given the same weights
    sd = plain.state_dict()
    dw.load_state_dict(sd, strict=False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(dw.eval()(x)['res5'],
                                  plain.eval()(x)['res5'])


def test_presets_and_registry():
    with torch.device('meta'):
        t = MODELS.build(dict(type='FocalNet', arch='tiny'))
        large = FocalNet(arch='large')
    assert t.variant == 'focal_dw' and large.variant == 'focal'
    assert list(t.out_channels.values()) == [96, 192, 384, 768]
    assert list(large.out_channels.values()) == [192, 384, 768, 1536]
    assert [len(layer.blocks) for layer in large.layers] == [2, 2, 18, 2]
    # layer scale starts at the official 1e-4; drop path from the config
    g = FocalNet(arch='test', drop_path_rate=0.2).layers[3].blocks[0]
    assert torch.allclose(g.gamma_1, torch.full((128, ), 1e-4))
    assert g.drop_path.drop_prob == pytest.approx(0.2)


@pytest.mark.parametrize('arch,cfg', [
    ('tiny', ((96, (2, 2, 6, 2), (3, ) * 4, (3, ) * 4, True))),
    ('large', ((192, (2, 2, 18, 2), (4, ) * 4, (3, ) * 4, False))),
])
def test_state_dict_matches_official_structure(arch, cfg):
    with torch.device('meta'):
        model = FocalNet(arch=arch)
    assert shapes(model) == expected_focalnet_keys(*cfg)


@pytest.mark.parametrize('manifest,arch', [('seem_focalt_v1', 'tiny'),
                                           ('seem_focall_v1', 'large')])
def test_state_dict_matches_official_manifest(manifest, arch):
    path = osp.join(MANIFEST_DIR, manifest + '.json')
    if not osp.exists(path):
        pytest.skip(f'{path} not present')
    with open(path) as f:
        keys = json.load(f)['keys']
    expected = {
        k[len('backbone.'):]: list(v)
        for k, v in keys.items() if k.startswith('backbone.')
    }
    with torch.device('meta'):
        model = FocalNet(arch=arch)
    got = shapes(model)
    assert set(got) == set(expected), set(got) ^ set(expected)
    assert got == expected


def test_focal_modulation_equation():
    """y = proj(q * h(sum_l g_l ctx_l + g_L GELU(mean ctx_L)) / (L + 1))."""
    torch.manual_seed(0)
    C, L = 4, 2
    fm = FocalModulation(C, focal_level=L, focal_window=3,
                         scaling_modulator=True).eval()
    x = torch.randn(1, 5, 6, C)
    out = fm(x)
    z = F.linear(x, fm.f.weight, fm.f.bias).permute(0, 3, 1, 2)
    q, ctx, gates = z[:, :C], z[:, C:2 * C], z[:, 2 * C:]
    acc = 0
    for lvl in range(L):
        w = fm.focal_layers[lvl][0].weight
        ctx = F.gelu(F.conv2d(ctx, w, padding=w.shape[-1] // 2, groups=C))
        acc = acc + ctx * gates[:, lvl:lvl + 1]
    acc = acc + F.gelu(ctx.mean((2, 3), keepdim=True)) * gates[:, L:]
    m = F.conv2d(acc / (L + 1), fm.h.weight, fm.h.bias)
    ref = F.linear((q * m).permute(0, 2, 3, 1), fm.proj.weight, fm.proj.bias)
    assert torch.allclose(out, ref, atol=1e-6)


def test_gradients_flow():
    torch.manual_seed(0)
    model = FocalNet(arch='test', drop_path_rate=0.1)
    model.train()
    outs = model(torch.randn(1, 3, 64, 64))
    sum(o.mean() for o in outs.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert model.patch_embed.proj.weight.grad.abs().sum() > 0


def test_odd_input_size_is_padded_internally():
    model = FocalNet(arch='test').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 70, 90))
    # each patch embedding pads right/bottom: ceil(H / stride)
    assert outs['res2'].shape[-2:] == (18, 23)
    assert outs['res3'].shape[-2:] == (9, 12)
    assert outs['res4'].shape[-2:] == (5, 6)
    assert outs['res5'].shape[-2:] == (3, 3)


def test_frozen_stages_and_init():
    model = FocalNet(arch='test', frozen_stages=2)
    model.init_weights()
    model.train()
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.layers[0].parameters())
    assert all(p.requires_grad for p in model.layers[1].parameters())
    assert not model.layers[0].training and model.layers[1].training
    ln = model.norm0
    assert torch.equal(ln.weight, torch.ones_like(ln.weight))


def test_out_indices_subset():
    model = FocalNet(arch='test', out_indices=(2, 3)).eval()
    assert model.out_features == ['res4', 'res5']
    assert not hasattr(model, 'norm0')
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 32, 32))
    assert list(outs) == ['res4', 'res5']


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match='unknown FocalNet arch'):
        FocalNet(arch='huge')
    with pytest.raises(ValueError, match='variant'):
        FocalNet(arch='test', variant='focal_v3')
    with pytest.raises(ValueError, match='one entry per stage'):
        FocalNet(arch='test', focal_levels=(2, 2))
    with pytest.raises(ValueError, match='out_indices'):
        FocalNet(arch='test', out_indices=(4, ))
    with pytest.raises(ValueError, match=r'\[B, C, H, W\]'):
        FocalNet(arch='test')(torch.randn(3, 32, 32))


def test_activation_checkpointing_matches():
    torch.manual_seed(0)
    ref = FocalNet(arch='test', drop_path_rate=0.)
    ckpt = FocalNet(arch='test', drop_path_rate=0., use_checkpoint=True)
    ckpt.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 32, 32)
    a, b = ref(x)['res5'], ckpt(x)['res5']
    assert torch.allclose(a, b)
    a.sum().backward()
    b.sum().backward()
    assert torch.allclose(ref.patch_embed.proj.weight.grad,
                          ckpt.patch_embed.proj.weight.grad, atol=1e-6)


def fill_by_name(model):
    """Weights that depend only on parameter names (not init order)."""
    import zlib
    sd = model.state_dict()
    for k in sorted(sd):
        g = torch.Generator().manual_seed(zlib.crc32(k.encode()))
        is_norm_w = k.endswith('weight') and 'norm' in k.split('.')[-2]
        sd[k] = torch.randn(sd[k].shape, generator=g) * 0.2 + float(is_norm_w)
    model.load_state_dict(sd)
    return model.eval()


# (sum, abs-sum) of each output; the official focal_dw.py / focal.py
# D2FocalNet given the same weights and input produced these same numbers.
GOLDEN = {
    'focal_dw': dict(res2=(-200.4816, 1824.5862), res3=(5.5535, 839.2622),
                     res4=(-9.7988, 606.6288), res5=(0.4588, 370.8547)),
    'focal': dict(res2=(-123.9608, 1832.3319), res3=(-11.4387, 882.1672),
                  res4=(-8.1049, 618.4526), res5=(-9.3015, 412.1601)),
}


@pytest.mark.parametrize('variant', ['focal_dw', 'focal'])
def test_numerics_match_official(variant):
    model = fill_by_name(FocalNet(arch='test', variant=variant))
    x = torch.randn(1, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outs = model(x)
    for name, (s, a) in GOLDEN[variant].items():
        assert outs[name].sum().item() == pytest.approx(s, abs=2e-3)
        assert outs[name].abs().sum().item() == pytest.approx(a, rel=1e-5)
