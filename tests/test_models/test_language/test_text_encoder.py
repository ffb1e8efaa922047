# Copyright (c) mmseem contributors.
import pytest
import torch

from mmseem.models.language.text_encoder import CLIPTextTransformer

VOCAB = 1000  # small vocabulary: these tests only need token ids


def _tiny(**kwargs):
    torch.manual_seed(0)
    cfg = dict(
        context_length=77, vocab_size=VOCAB, width=32, layers=2, heads=2)
    cfg.update(kwargs)
    return CLIPTextTransformer(**cfg).eval()


def _ids(n=2, length=77, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCAB, (n, length), generator=g)


def test_shapes_and_state_dict_names():
    model = _tiny()
    out = model(_ids())
    assert out.shape == (2, 77, 32)
    keys = set(model.state_dict())
    # the causal mask is a non-persistent buffer: never in checkpoints
    assert 'attn_mask' not in keys
    assert model.attn_mask.shape == (77, 77)
    assert {
        'positional_embedding', 'token_embedding.weight',
        'resblocks.1.attn.in_proj_weight', 'resblocks.1.attn.out_proj.bias',
        'resblocks.0.ln_1.weight', 'resblocks.0.mlp.c_fc.weight',
        'resblocks.0.mlp.c_proj.bias', 'resblocks.0.ln_2.bias',
        'ln_final.weight'
    } <= keys
    assert len(keys) == 2 + 2 * 12 + 2


def test_causal_mask_later_token_does_not_change_earlier_outputs():
    model = _tiny()
    ids = _ids(1)
    changed = ids.clone()
    changed[0, 10] = (changed[0, 10] + 1) % VOCAB
    with torch.no_grad():
        a, b = model(ids), model(changed)
    torch.testing.assert_close(a[:, :10], b[:, :10], rtol=0, atol=1e-6)
    assert (a[:, 10:] - b[:, 10:]).abs().amax(-1).min() > 1e-4


def test_bidirectional_mode_ignores_padding_only():
    model = _tiny(autoregressive=False)
    ids = _ids(1)
    mask = torch.ones_like(ids)
    mask[:, 20:] = 0
    changed = ids.clone()
    changed[0, 30] = (changed[0, 30] + 1) % VOCAB  # a padded position
    with torch.no_grad():
        a = model(ids, mask)
        b = model(changed, mask)
        c = model(ids)  # without the mask padding is attended to
    torch.testing.assert_close(a[:, :20], b[:, :20], rtol=0, atol=1e-6)
    assert (a[:, :20] - c[:, :20]).abs().max() > 1e-4


def test_shorter_sequence_equals_prefix():
    model = _tiny()
    ids = _ids(2)
    with torch.no_grad():
        full = model(ids)
        short = model(ids[:, :12])
    torch.testing.assert_close(short, full[:, :12], rtol=1e-5, atol=1e-5)


def test_bad_inputs():
    model = _tiny()
    with pytest.raises(ValueError, match='context length'):
        model(_ids(1, 78))
    with pytest.raises(ValueError, match=r'\[N, L\]'):
        model(_ids(1)[0])
    with pytest.raises(ValueError, match='divisible'):
        CLIPTextTransformer(width=30, heads=4, layers=1, vocab_size=10)


def test_matches_huggingface_clip_text_model():
    """Same numerics as the CLIP text tower of ``transformers``."""
    transformers = pytest.importorskip('transformers')
    model = _tiny()
    cfg = transformers.CLIPTextConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        hidden_act='quick_gelu',
        layer_norm_eps=1e-12,
        pad_token_id=VOCAB - 1,
        bos_token_id=VOCAB - 2,
        eos_token_id=VOCAB - 1)
    ref = transformers.CLIPTextModel(cfg).eval()
    ref = getattr(ref, 'text_model', ref)  # transformers<5 nests it
    sd = {
        'embeddings.token_embedding.weight':
        model.token_embedding.weight,
        'embeddings.position_embedding.weight':
        model.positional_embedding,
        'final_layer_norm.weight': model.ln_final.weight,
        'final_layer_norm.bias': model.ln_final.bias,
    }
    for i, blk in enumerate(model.resblocks):
        p = f'encoder.layers.{i}.'
        for name, w, b in zip(('q', 'k', 'v'),
                              blk.attn.in_proj_weight.chunk(3),
                              blk.attn.in_proj_bias.chunk(3)):
            sd[p + f'self_attn.{name}_proj.weight'] = w
            sd[p + f'self_attn.{name}_proj.bias'] = b
        sd[p + 'self_attn.out_proj.weight'] = blk.attn.out_proj.weight
        sd[p + 'self_attn.out_proj.bias'] = blk.attn.out_proj.bias
        for a, o in (('layer_norm1', blk.ln_1), ('layer_norm2', blk.ln_2),
                     ('mlp.fc1', blk.mlp.c_fc), ('mlp.fc2', blk.mlp.c_proj)):
            sd[p + a + '.weight'] = o.weight
            sd[p + a + '.bias'] = o.bias
    missing, _ = ref.load_state_dict(sd, strict=False)
    assert not [k for k in missing if 'position_ids' not in k]
    ids = _ids(2)
    with torch.no_grad():
        expected = ref(input_ids=ids).last_hidden_state
        actual = model(ids)
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)
