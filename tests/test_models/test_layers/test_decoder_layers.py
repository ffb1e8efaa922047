import pytest
import torch
from torch import nn

from mmseem.models.layers.decoder_layers import (MLP, CrossAttentionLayer,
                                                 FFNLayer,
                                                 SelfAttentionLayer)


def test_official_param_names():
    names = set(dict(SelfAttentionLayer(8, 2).named_parameters()))
    assert names == {
        'self_attn.in_proj_weight', 'self_attn.in_proj_bias',
        'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
        'norm.weight', 'norm.bias'
    }
    names = set(dict(CrossAttentionLayer(8, 2).named_parameters()))
    assert 'multihead_attn.in_proj_weight' in names and 'norm.bias' in names
    names = set(dict(FFNLayer(8, 16).named_parameters()))
    assert names == {
        'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias',
        'norm.weight', 'norm.bias'
    }
    assert set(dict(MLP(8, 8, 4, 3).named_parameters())) == {
        f'layers.{i}.{p}'
        for i in range(3) for p in ('weight', 'bias')
    }


def _reference_self_attn(layer, x, pos, mask):
    """Plain attention with softmax(...).nan_to_num() (SEEM's kernel)."""
    mha = layer.self_attn
    L, B, C = x.shape
    h = mha.num_heads
    q_in = x + pos
    w, b = mha.in_proj_weight, mha.in_proj_bias
    q = nn.functional.linear(q_in, w[:C], b[:C]) * (C // h)**-0.5
    k = nn.functional.linear(q_in, w[C:2 * C], b[C:2 * C])
    v = nn.functional.linear(x, w[2 * C:], b[2 * C:])

    def heads(t):
        return t.reshape(L, B * h, C // h).transpose(0, 1)

    att = heads(q) @ heads(k).transpose(1, 2)
    att = att.masked_fill(mask, float('-inf')).softmax(-1).nan_to_num()
    out = (att @ heads(v)).transpose(0, 1).reshape(L, B, C)
    out = mha.out_proj(out)
    return layer.norm(x + out)


def test_self_attn_fully_blocked_rows_like_seem():
    torch.manual_seed(0)
    layer = SelfAttentionLayer(8, 2).eval()
    nn.init.normal_(layer.self_attn.out_proj.bias)
    x, pos = torch.randn(5, 2, 8), torch.randn(5, 2, 8)
    mask = torch.rand(4, 5, 5) > 0.5
    mask[:, :, 0] = False
    mask[0:2, 3] = True  # image 0: row 3 blocked for both heads
    mask[2:4, 1] = True  # image 1: row 1
    out = layer(x, tgt_mask=mask, query_pos=pos)
    ref = _reference_self_attn(layer, x, pos, mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    # blocked row = norm(x + out_proj.bias)
    torch.testing.assert_close(
        out[3, 0], layer.norm(x[3, 0] + layer.self_attn.out_proj.bias))


def test_post_and_pre_norm_differ():
    torch.manual_seed(0)
    post, pre = FFNLayer(8, 16), FFNLayer(8, 16, normalize_before=True)
    pre.load_state_dict(post.state_dict())
    x = torch.randn(3, 2, 8)
    out = post(x)
    torch.testing.assert_close(out, post.norm(x + post.linear2(
        post.linear1(x).relu())))
    assert not torch.allclose(out, pre(x))


@pytest.mark.parametrize('pre_norm', [False, True])
@pytest.mark.parametrize('bs', [1, 2])
def test_cross_attn_with_projected_memory_equals_module(pre_norm, bs):
    torch.manual_seed(0)
    layer = CrossAttentionLayer(16, 4, normalize_before=pre_norm).eval()
    nn.init.normal_(layer.multihead_attn.in_proj_bias)
    tgt, qpos = torch.randn(5, bs, 16), torch.randn(5, bs, 16)
    mem, pos = torch.randn(30, bs, 16), torch.randn(30, bs, 16)
    mask = torch.rand(bs * 4, 5, 30) < 0.6
    mask[mask.all(-1)] = False
    with torch.no_grad():
        ref = layer(tgt, mem, memory_mask=mask, pos=pos, query_pos=qpos)
        kv = layer.project_memory(mem, pos)
        out = layer(tgt, None, memory_mask=mask, query_pos=qpos, memory_kv=kv)
        # the same operations on the same shapes: identical numbers
        assert torch.equal(out, ref)
        # keys include the position embedding, values do not
        w_k, w_v = layer.multihead_attn.in_proj_weight.chunk(3)[1:]
        torch.testing.assert_close(kv[1], mem @ w_v.t() +
                                   layer.multihead_attn.in_proj_bias[32:])
        torch.testing.assert_close(kv[0], (mem + pos) @ w_k.t() +
                                   layer.multihead_attn.in_proj_bias[16:32])
        # the mask is honoured
        free = layer(tgt, None, query_pos=qpos, memory_kv=kv)
        assert not torch.allclose(free, out)
        with pytest.raises(ValueError, match='same image batch'):
            layer(tgt, None, query_pos=qpos,
                  memory_kv=(kv[0][:, :1].repeat(1, bs + 1, 1),) * 2)
