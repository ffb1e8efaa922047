# Copyright (c) mmseem contributors.
import json
import math
import os.path as osp

import pytest
import torch

from mmseem.models.language.language_encoder import (LanguageEncoder,
                                                     vl_similarity)
from mmseem.models.language.prompt_templates import (PROMPT_TEMPLATES,
                                                     clean_class_name,
                                                     prompt_random_template)
from _bpe import requires_bpe  # this folder's _bpe.py


TEMPLATES = ('a photo of a {}.', '{}.', 'a drawing of the {}.')
MANIFEST = osp.join(
    osp.dirname(__file__), '..', '..', 'data', 'official_keys',
    'seem_focalt_v1.json')
PREFIX = 'sem_seg_head.predictor.lang_encoder.'


def _tiny(templates=TEMPLATES, **kwargs):
    torch.manual_seed(0)
    model = LanguageEncoder(
        lang_encoder=dict(
            type='CLIPTextTransformer',
            context_length=77,
            vocab_size=49408,
            width=32,
            layers=2,
            heads=2),
        dim_lang=32,
        dim_proj=16,
        prompt_templates=templates,
        **kwargs)
    return model.eval()


@pytest.fixture(scope='module')
def model():
    return _tiny()


def test_official_parameter_names_and_shapes():
    with torch.device('meta'):  # full size without allocating memory
        full = LanguageEncoder()
    ours = {PREFIX + k: list(v.shape) for k, v in full.state_dict().items()}
    if osp.isfile(MANIFEST):
        with open(MANIFEST) as f:
            official = {
                k: v
                for k, v in json.load(f)['keys'].items()
                if k.startswith(PREFIX)
            }
    else:  # derived from the official LanguageEncoder / Transformer
        block = {
            'attn.in_proj_weight': [1536, 512],
            'attn.in_proj_bias': [1536],
            'attn.out_proj.weight': [512, 512],
            'attn.out_proj.bias': [512],
            'ln_1.weight': [512],
            'ln_1.bias': [512],
            'mlp.c_fc.weight': [2048, 512],
            'mlp.c_fc.bias': [2048],
            'mlp.c_proj.weight': [512, 2048],
            'mlp.c_proj.bias': [512],
            'ln_2.weight': [512],
            'ln_2.bias': [512],
        }
        t = PREFIX + 'lang_encoder.'
        official = {
            PREFIX + 'lang_proj': [512, 512],
            PREFIX + 'logit_scale': [],
            t + 'positional_embedding': [77, 512],
            t + 'token_embedding.weight': [49408, 512],
            t + 'ln_final.weight': [512],
            t + 'ln_final.bias': [512],
        }
        for i in range(12):
            official.update(
                {f'{t}resblocks.{i}.{k}': v
                 for k, v in block.items()})
    assert len(official) == 150
    assert ours == official


@requires_bpe
def test_eot_pooling_and_projection(model):
    out = model.encode_text(['a photo of a cat', 'dog'])
    ids = out['tokens']['input_ids']
    assert out['token_emb'].shape == (2, 77, 16)
    assert out['class_emb'].shape == (2, 16)
    assert out['attention_mask'].sum(-1).tolist() == [7, 3]
    with torch.no_grad():
        hidden = model.lang_encoder(ids)
    eot = [6, 2]  # position of <|endoftext|> (id 49407)
    assert ids[0, 6] == ids[1, 2] == 49407
    # token embeddings are projected, not normalised
    torch.testing.assert_close(out['token_emb'], hidden @ model.lang_proj)
    expected = torch.stack([hidden[i, e] for i, e in enumerate(eot)])
    torch.testing.assert_close(out['class_emb'], expected @ model.lang_proj)
    torch.testing.assert_close(out['class_emb'],
                               out['token_emb'][[0, 1], eot])
    # the normalised variant of forward_language
    emb = model.forward_language(ids, out['attention_mask'])
    norm = out['class_emb'].norm(dim=-1, keepdim=True)
    torch.testing.assert_close(emb, out['class_emb'] / (norm + 1e-7))


@requires_bpe
def test_class_embeddings_ensemble_and_background(model):
    emb = model.get_class_embeddings(['cat', 'wall-other-merged'])
    assert emb.shape == (3, 16)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))
    assert not emb.requires_grad
    # manual template ensemble: mean of normalised EOT embeddings, renormed
    rows = []
    for name in ['cat', 'wall', 'background']:  # suffixes dropped
        texts = [t.format(name) for t in TEMPLATES]
        tok = model.tokenize(texts)
        with torch.no_grad():
            e = model.forward_language(tok['input_ids'],
                                       tok['attention_mask'])
        m = e.mean(0)
        rows.append(m / m.norm())
    torch.testing.assert_close(emb, torch.stack(rows), rtol=1e-5, atol=1e-5)
    # background is last and prompted like any class
    bg = model.get_class_embeddings(['background'], add_bgd=False)
    torch.testing.assert_close(emb[-1], bg[0])
    no_bg = model.get_class_embeddings(['cat', 'wall'], add_bgd=False)
    assert no_bg.shape == (2, 16)


@requires_bpe
def test_default_templates_are_used():
    model = _tiny(templates=PROMPT_TEMPLATES, max_batch=64)
    assert len(PROMPT_TEMPLATES) == 81
    assert PROMPT_TEMPLATES[0] == '{}.'
    emb = model.get_class_embeddings(['cat'], add_bgd=False)
    tok = model.tokenize([t.format('cat') for t in PROMPT_TEMPLATES])
    with torch.no_grad():
        e = model.forward_language(tok['input_ids'], tok['attention_mask'])
    m = e.mean(0)
    torch.testing.assert_close(emb[0], m / m.norm(), rtol=1e-5, atol=1e-5)


@requires_bpe
def test_class_embedding_cache():
    model = _tiny()
    a = model.get_class_embeddings(['cat', 'dog'])
    assert model.get_class_embeddings(['cat', 'dog']) is a  # hit
    b = model.get_class_embeddings(['cat', 'bird'])  # other vocabulary
    assert b is not a and not torch.allclose(a[1], b[1])
    c = model.get_class_embeddings(['cat', 'dog'], add_bgd=False)
    assert c is not a and c.shape[0] == 2
    assert model.get_class_embeddings(['cat', 'dog']) is a
    # the cache never enters the state dict
    assert all(k in ('lang_proj', 'logit_scale') or
               k.startswith('lang_encoder.') for k in model.state_dict())
    # new weights invalidate it
    other = _tiny()
    with torch.no_grad():
        other.lang_proj.add_(torch.randn(
            other.lang_proj.shape, generator=torch.Generator().manual_seed(1)))
    model.load_state_dict(other.state_dict())
    d = model.get_class_embeddings(['cat', 'dog'])
    assert d is not a and not torch.allclose(a, d)
    # train() clears it
    model.train()
    model.eval()
    assert model.get_class_embeddings(['cat', 'dog']) is not d


@requires_bpe
def test_training_mode_random_template_with_gradient():
    model = _tiny().train()
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    a = model.get_class_embeddings(['cat', 'dog'], generator=g1)
    b = model.get_class_embeddings(['cat', 'dog'], generator=g2)
    assert a.requires_grad and a is not b
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(3))
    # each row is one sampled template of that class
    g3 = torch.Generator().manual_seed(3)
    texts = [
        prompt_random_template(n, TEMPLATES, g3)
        for n in ['cat', 'dog', 'background']
    ]
    assert all(t in [p.format(n) for p in TEMPLATES]
               for t, n in zip(texts, ['cat', 'dog', 'background']))
    tok = model.tokenize(texts)
    torch.testing.assert_close(
        a, model.forward_language(tok['input_ids'], tok['attention_mask']))
    a.sum().backward()
    assert model.lang_proj.grad is not None


@requires_bpe
def test_compute_similarity_is_unclamped_scaled_cosine(model):
    with torch.no_grad():
        model.logit_scale.fill_(math.log(1000.))
    t = model.get_class_embeddings(['cat', 'dog'])
    v = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(0))
    logits = model.compute_similarity(v)
    assert logits.shape == (2, 5, 3)
    cos = torch.nn.functional.cosine_similarity(
        v[:, :, None], t[None, None], dim=-1)
    torch.testing.assert_close(logits, 1000. * cos, rtol=1e-4, atol=1e-3)
    assert logits.abs().max() > 100  # no clamp at 100
    with pytest.raises(KeyError, match='get_class_embeddings'):
        model.compute_similarity(v, name='grounding')


def test_vl_similarity_clamps_temperature():
    g = torch.Generator().manual_seed(0)
    img = torch.randn(4, 8, generator=g)
    txt = torch.randn(3, 8, generator=g)
    torch.testing.assert_close(
        vl_similarity(img, txt, torch.tensor(math.log(1000.))),
        100. * (img @ txt.t()))
    torch.testing.assert_close(
        vl_similarity(img, txt, torch.tensor(1.)), math.e * (img @ txt.t()))


@requires_bpe
@pytest.mark.parametrize('bad, match', [([], 'Empty vocabulary'),
                                        ((), 'Empty vocabulary'),
                                        ('cat', 'wrap it in a list'),
                                        (['cat', ''], 'empty or blank'),
                                        (['cat', 3], 'not a str')])
def test_bad_vocabulary(model, bad, match):
    with pytest.raises(ValueError, match=match):
        model.get_class_embeddings(bad)


@requires_bpe
def test_over_long_prompt_is_truncated(model):
    with pytest.warns(UserWarning, match='truncated'):
        out = model.encode_text(['a photo of ' + 'cat ' * 90])
    ids = out['tokens']['input_ids']
    assert ids.shape == (1, 77) and ids[0, -1] == 49407
    torch.testing.assert_close(out['class_emb'], out['token_emb'][:, -1])


def test_prompt_helpers():
    assert clean_class_name('wall-other-merged') == 'wall'
    assert clean_class_name('grass-merged') == 'grass'
    g = torch.Generator().manual_seed(0)
    text = prompt_random_template('hair drier, blow+dryer', ('{}.', ), g)
    assert text == 'hair drier blow dryer.'


def test_registry_build():
    from mmseem.registry import MODELS
    enc = MODELS.build(
        dict(
            type='LanguageEncoder',
            lang_encoder=dict(
                type='CLIPTextTransformer',
                vocab_size=100,
                width=8,
                layers=1,
                heads=2),
            dim_lang=8,
            dim_proj=4))
    assert enc.lang_proj.shape == (8, 4)
    assert enc.logit_scale.item() == 1.0


def test_logit_scale_init():
    """SEEM's temperature starts at log-scale 1 (official); the synthetic
    recipe's random-init encoder starts it higher (``logit_scale_init``),
    and the value survives ``init_weights``."""
    official = _tiny()
    official.init_weights()
    assert float(official.logit_scale) == 1.0
    warm = LanguageEncoder(
        lang_encoder=dict(type='CLIPTextTransformer', context_length=77,
                          vocab_size=49408, width=16, layers=1, heads=2),
        dim_lang=16, dim_proj=16, logit_scale_init=3.0, disk_cache=False)
    warm.init_weights()
    assert float(warm.logit_scale) == 3.0
    assert warm.logit_scale.requires_grad
