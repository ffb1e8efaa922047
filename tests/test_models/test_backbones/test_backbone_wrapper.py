"""Tests of BackboneWrapper around mmdet backbones (tiny, CPU)."""
import pytest
import torch

from mmseem.models.backbones import BackboneWrapper, ShapeSpec
from mmseem.registry import MODELS

TINY_RESNET = dict(
    type='mmdet.ResNet',
    depth=18,
    base_channels=8,
    stem_channels=8,
    out_indices=(0, 1, 2, 3),
    norm_cfg=dict(type='BN', requires_grad=True))


def test_resnet_res2_to_res5():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='BackboneWrapper', backbone=TINY_RESNET))
    assert isinstance(model, BackboneWrapper)
    assert model.out_features == ['res2', 'res3', 'res4', 'res5']
    assert model.out_channels == dict(res2=8, res3=16, res4=32, res5=64)
    assert model.strides == dict(res2=4, res3=8, res4=16, res5=32)
    assert model.output_shape()['res3'] == ShapeSpec(16, 8)
    # probing must not have touched the batch-norm statistics
    bn = model.backbone.bn1
    assert torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert model.training
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 64))
    assert list(outs) == model.out_features
    for n, o in outs.items():
        s = model.strides[n]
        assert o.shape == (2, model.out_channels[n], 64 // s, 64 // s)


def test_subset_and_explicit_shapes():
    cfg = dict(TINY_RESNET, out_indices=(1, 2, 3))
    model = BackboneWrapper(
        cfg, out_channels=(16, 32, 64), strides=(8, 16, 32),
        out_features=('res4', 'res5'))
    assert model.out_features == ['res4', 'res5']
    assert model.out_channels == dict(res4=32, res5=64)
    with torch.no_grad():
        outs = model.eval()(torch.randn(1, 3, 64, 64))
    assert list(outs) == ['res4', 'res5']
    assert outs['res5'].shape == (1, 64, 2, 2)


def test_gradients_flow():
    model = BackboneWrapper(TINY_RESNET)
    outs = model(torch.randn(2, 3, 32, 32))
    sum(o.mean() for o in outs.values()).backward()
    assert model.backbone.conv1.weight.grad is not None
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_swin_transformer():
    cfg = dict(
        type='mmdet.SwinTransformer',
        embed_dims=16,
        depths=(1, 1, 1, 1),
        num_heads=(1, 2, 2, 4),
        window_size=4,
        out_indices=(0, 1, 2, 3))
    model = BackboneWrapper(cfg).eval()
    assert model.out_channels == dict(res2=16, res3=32, res4=64, res5=128)
    assert model.strides == dict(res2=4, res3=8, res4=16, res5=32)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert outs['res2'].shape == (1, 16, 16, 16)


def test_errors():
    with pytest.raises(TypeError, match='config dict'):
        BackboneWrapper('mmdet.ResNet')
    with pytest.raises(ValueError, match='not produced'):
        BackboneWrapper(
            dict(TINY_RESNET, out_indices=(2, 3)),
            out_features=('res2', ))
    with pytest.raises(ValueError, match='powers of two'):
        BackboneWrapper(TINY_RESNET, out_channels=(8, 16, 32, 64),
                        strides=(3, 8, 16, 32))
    model = BackboneWrapper(TINY_RESNET)
    with pytest.raises(ValueError, match=r'\[B, C, H, W\]'):
        model(torch.randn(3, 32, 32))
