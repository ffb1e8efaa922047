import json
import os.path as osp

import pytest
import torch


MANIFEST = osp.join(
    osp.dirname(__file__), '..', '..', 'data', 'official_keys',
    'seem_focalt_v1.json')


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _check_common(out, bs, keys):
    assert set(out) == set(keys) | {'aux_outputs'}
    assert len(out['aux_outputs']) == 3
    for aux in out['aux_outputs']:
        assert set(aux) == set(keys) - {'prev_mask'}
    assert out['pred_logits'].shape == (bs, 7, 6)
    assert out['pred_masks'].shape == (bs, 7, 16, 16)


@torch.no_grad()
def test_seg(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features(bs=2)
    out = dec(ms, mf, task='panoptic')
    _check_common(out, 2, {'pred_logits', 'pred_masks'})
    # class logits = exp(logit_scale) * cos: bounded by the scale
    assert out['pred_logits'].abs().max() <= dec.lang_encoder.logit_scale.exp()
    # aux sets differ from the final one (4 prediction sets)
    assert not torch.allclose(out['aux_outputs'][0]['pred_masks'],
                              out['pred_masks'])


@torch.no_grad()
def test_grounding_eval(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features(bs=2)
    tokens = torch.randn(4, 2, 32)
    pad = torch.tensor([[False] * 4, [False, False, True, True]])
    out = dec(ms, mf, task='referring',
              prompts=dict(grounding_tokens=tokens,
                         grounding_nonzero_mask=pad))
    _check_common(out, 2, {'pred_logits', 'pred_masks', 'pred_captions',
                           'pred_gmasks', 'pred_gtexts'})
    assert out['pred_gmasks'].shape == (2, 7, 16, 16)
    assert out['pred_gtexts'].shape == (2, 7, 32)
    sim = dec.grounding_similarity(out['pred_gtexts'][0], torch.randn(3, 32))
    assert sim.shape == (7, 3) and sim.abs().max() <= 100
    # padded tokens must not matter
    tokens2 = tokens.clone()
    tokens2[2:, 1] = 123.
    out2 = dec(ms, mf, task='referring',
               prompts=dict(grounding_tokens=tokens2,
                          grounding_nonzero_mask=pad))
    torch.testing.assert_close(out2['pred_gmasks'], out['pred_gmasks'])
    # object predictions do not see the grounding part
    seg = dec(ms, mf, task='panoptic')
    torch.testing.assert_close(seg['pred_masks'], out['pred_masks'])


SPATIAL_KEYS = {'pred_logits', 'pred_masks', 'pred_captions', 'pred_smasks',
                'pred_stexts', 'pred_smaskembs', 'pred_pspatials',
                'pred_nspatials', 'prev_mask'}


@torch.no_grad()
def test_spatial_batch_with_different_prompt_counts(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features(bs=2)
    pos2, neg2 = tiny.masks(2)
    pos1, neg1 = tiny.masks(1)
    extra = dict(spatial_query_pos_mask=[pos2, pos1],
                 spatial_query_neg_mask=[neg2, neg1])
    out = dec(ms, mf, task='interactive', prompts=extra, generator=_gen())
    _check_common(out, 2, SPATIAL_KEYS)
    assert out['pred_smasks'].shape == (2, 6, 16, 16)
    assert out['pred_smaskembs'].shape == (2, 6, 32)
    assert out['pred_pspatials'].shape == (2, 2, 32)
    assert out['prev_mask'].shape == (2, 2, 16, 16)
    # padded prompt of image 1 has the -1 placeholder vector
    assert torch.equal(out['pred_pspatials'][1, 1], -torch.ones(32))
    # prev_mask = best of the 3 queries of each prompt
    prev, idx = dec.select_spatial_masks(out)
    assert torch.equal(prev, out['prev_mask'])
    assert ((idx // 3) == torch.arange(2)).all()
    scores = (out['pred_smaskembs'][0] @ out['pred_pspatials'][0, 0])[:3]
    assert idx[0, 0] == scores.argmax()
    # object queries are not influenced by prompts
    seg = dec(ms, mf, task='panoptic')
    torch.testing.assert_close(seg['pred_masks'], out['pred_masks'])


@torch.no_grad()
def test_spatial_plus_grounding(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features()
    pos, neg = tiny.masks(2)
    out = dec(ms, mf, task='panoptic', prompts=dict(
        spatial_query_pos_mask=[pos], spatial_query_neg_mask=[neg],
        grounding_tokens=torch.randn(3, 1, 32)), generator=_gen())
    assert {'pred_gmasks', 'pred_smasks', 'pred_pspatials'} <= set(out)
    assert 'prev_mask' not in out
    # the spatial queries do not see the grounding tokens
    only = dec(ms, mf, task='panoptic', prompts=dict(
        spatial_query_pos_mask=[pos], spatial_query_neg_mask=[neg]),
        generator=_gen())
    torch.testing.assert_close(only['pred_smasks'], out['pred_smasks'])


@torch.no_grad()
def test_refimg(tiny):
    dec = tiny.decoder()
    ms_ref, mf_ref = tiny.features(seed=1)
    pos, neg = tiny.masks(2)
    tokens = dec.encode_reference(ms_ref, mf_ref, [pos], [neg], _gen())
    assert set(tokens) == {'spatial_query_pos', 'spatial_query_neg',
                           'src_spatial_queries', 'src_spatial_maskings',
                           'src_spatial_indices'}
    assert tokens['spatial_query_pos'].shape == (2, 1, 32)
    assert len(tokens['src_spatial_queries']) == 3
    ms, mf = tiny.features(bs=2, seed=2)
    out = dec(ms, mf, task='refimg', prompts=dict(refimg_tokens=tokens),
              generator=_gen())
    _check_common(out, 2, SPATIAL_KEYS)
    assert out['prev_mask'].shape == (2, 2, 16, 16)
    with pytest.raises(ValueError, match='needs spatial_query_pos_mask'):
        dec(ms, mf, task='refimg')


def _capture(dec):
    cross, selfm = [], []
    hooks = []
    for layer in dec.transformer_cross_attention_layers:
        hooks.append(layer.register_forward_pre_hook(
            lambda m, a, kw: cross.append(kw['memory_mask']),
            with_kwargs=True))
    for layer in dec.transformer_self_attention_layers:
        hooks.append(layer.register_forward_pre_hook(
            lambda m, a, kw: selfm.append(kw['tgt_mask']), with_kwargs=True))
    return cross, selfm, hooks


@torch.no_grad()
def test_memory_prompts_confined_to_previous_mask(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features()
    pos, neg = tiny.masks(2)
    prev = torch.full((1, 2, 16, 16), -10.)
    prev[0, 0, :, :8] = 10.  # prompt 0: left half
    prev[0, 1, :8] = 10.  # prompt 1: top half
    cross, selfm, hooks = _capture(dec)
    out = dec(ms, mf, task='interactive', generator=_gen(), prompts=dict(
        spatial_query_pos_mask=[pos], spatial_query_neg_mask=[neg],
        prev_mask=prev))
    for h in hooks:
        h.remove()
    _check_common(out, 1, SPATIAL_KEYS)
    assert len(cross) == len(selfm) == 3
    # cross sequence: 7 object, 6 spatial, 5 memories
    for i, (cm, sm) in enumerate(zip(cross, selfm)):
        size = ms[i % 3].shape[-1]
        assert cm.shape == (2, 18, size * size)
        half = torch.zeros(size, size, dtype=torch.bool)
        half[:, :size // 2] = True
        region = {0: ~half.flatten(), 1: ~half.t().flatten()}
        # self sequence: 7 obj | 6 spatial | N tokens | 5 memories
        mem_cols = sm[0, 7:13, -5:]  # spatial queries x memories
        for m in range(5):
            row = cm[0, 13 + m]
            owners = [p for p in (0, 1) if not mem_cols[3 * p, m]]
            assert len(owners) == 1  # memory tied to exactly one prompt
            assert torch.equal(row, region[owners[0]]), (i, m)
            assert torch.equal(cm[1, 13 + m], row)  # same for every head


@torch.no_grad()
def test_seeds_and_cached_features_untouched(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features()
    ms_copy, mf_copy = [x.clone() for x in ms], mf.clone()
    versions = [x._version for x in ms] + [mf._version]
    pos, neg = tiny.masks(2)
    extra = dict(spatial_query_pos_mask=[pos], spatial_query_neg_mask=[neg])
    a = dec(ms, mf, 'interactive', dict(extra), _gen(3))
    b = dec(ms, mf, 'interactive', dict(extra), _gen(3))
    c = dec(ms, mf, 'interactive', dict(extra), _gen(4))
    for k in ('pred_smasks', 'pred_pspatials', 'prev_mask'):
        assert torch.equal(a[k], b[k])
    assert not torch.equal(a['pred_pspatials'], c['pred_pspatials'])
    ta = dec.encode_reference(ms, mf, [pos], [neg], _gen(3))
    tc = dec.encode_reference(ms, mf, [pos], [neg], _gen(4))
    assert not torch.equal(ta['src_spatial_queries'][0],
                           tc['src_spatial_queries'][0])
    # round 2 reuses the cached features
    dec(ms, mf, 'interactive', dict(extra, prev_mask=a['prev_mask']), _gen(5))
    for x, y in zip(ms + [mf], ms_copy + [mf_copy]):
        assert torch.equal(x, y)
    assert [x._version for x in ms] + [mf._version] == versions


@torch.no_grad()
def test_bad_inputs(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features()
    pos, neg = tiny.masks(2)
    empty = pos.clone()
    empty[1] = False
    with pytest.raises(ValueError, match='no positive pixel'):
        dec(ms, mf, 'interactive', dict(spatial_query_pos_mask=[empty]))
    neg_only = neg.clone()
    neg_only[1, 0, 0] = True
    with pytest.raises(ValueError, match='negative-only'):
        dec(ms, mf, 'interactive', dict(spatial_query_pos_mask=[empty],
                                    spatial_query_neg_mask=[neg_only]))
    with pytest.raises(ValueError, match='padded input'):
        dec(ms, mf, 'interactive', dict(spatial_query_pos_mask=[pos[:, :32]]))
    with pytest.raises(ValueError, match='prev_mask'):
        dec(ms, mf, 'interactive', dict(spatial_query_pos_mask=[pos],
                                    prev_mask=torch.zeros(1, 3, 16, 16)))
    with pytest.raises(ValueError, match='grounding_tokens must be'):
        dec(ms, mf, 'panoptic', dict(grounding_tokens=torch.zeros(2, 1, 8)))
    with pytest.raises(ValueError, match='3 multi-scale'):
        dec(ms[:2], mf)
    with pytest.raises(ValueError, match='not a SEEM task'):
        dec(ms, mf, task=None)
    # the former decoder-only mode names are not tasks
    for old in ('seg', 'spatial', 'grounding_eval'):
        with pytest.raises(ValueError, match='not a SEEM task'):
            dec(ms, mf, task=old)
    with pytest.raises(KeyError, match='unknown decoder prompt'):
        dec(ms, mf, 'panoptic', dict(spatial_query_pos_masks=[pos]))


@pytest.mark.skipif(not osp.exists(MANIFEST),
                    reason='official key manifest absent')
def test_full_size_keys_match_official(tiny):
    from mmseem.models.heads.seem_decoder import SEEMDecoder
    manifest = json.load(open(MANIFEST))['keys']
    prefix = 'sem_seg_head.predictor.'
    official = {
        k[len(prefix):]: tuple(v)
        for k, v in manifest.items()
        if k.startswith(prefix) and not k.startswith(prefix + 'lang_encoder')
    }
    lang = tiny.LanguageEncoder(512)
    with torch.device('meta'):
        dec = SEEMDecoder(lang_encoder=lang)
    ours = {
        k: tuple(v.shape)
        for k, v in dec.state_dict().items()
        if not k.startswith('lang_encoder')
    }
    assert len(official) == 180
    assert ours == official


@pytest.mark.skipif(not osp.exists(MANIFEST),
                    reason='official key manifest absent')
def test_full_size_keys_with_language_encoder():
    import mmseem.models  # noqa: F401  (registers the language encoder)
    from mmseem.models.heads.seem_decoder import SEEMDecoder
    from mmseem.registry import MODELS
    if MODELS.get('LanguageEncoder') is None:
        pytest.skip('LanguageEncoder not registered yet')
    manifest = json.load(open(MANIFEST))['keys']
    prefix = 'sem_seg_head.predictor.'
    official = {
        k[len(prefix):]: tuple(v)
        for k, v in manifest.items() if k.startswith(prefix)
    }
    with torch.device('meta'):
        dec = SEEMDecoder(lang_encoder=dict(type='LanguageEncoder'))
    ours = {k: tuple(v.shape) for k, v in dec.state_dict().items()}
    assert ours == official
