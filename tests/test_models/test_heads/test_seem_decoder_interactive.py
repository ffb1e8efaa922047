"""Cheap interactive rounds of the SEEM decoder: ``spatial_only`` and the
per-image ``prepare_features`` cache must give the outputs of the full
decoder."""
from unittest import mock

import pytest
import torch

from mmseem.models.heads.sample_prompts import visual_prompt_masks

SPATIAL_OUT = ('pred_smasks', 'pred_stexts', 'pred_smaskembs',
               'pred_pspatials', 'pred_nspatials')


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _prompts(tiny, bs):
    pos, neg = tiny.masks(2)
    if bs == 1:
        return dict(spatial_query_pos_mask=[pos], spatial_query_neg_mask=[neg])
    # second image: other prompts (mirrored)
    return dict(
        spatial_query_pos_mask=[pos, pos.flip(-1)],
        spatial_query_neg_mask=[neg, neg.flip(-2)])


def _assert_spatial_equal(a, b, atol=1e-5):
    for k in SPATIAL_OUT + ('prev_mask', ):
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=0,
                                   msg=lambda m, k=k: f'{k}: {m}')
    assert len(a['aux_outputs']) == len(b['aux_outputs'])
    for i, (x, y) in enumerate(zip(a['aux_outputs'], b['aux_outputs'])):
        for k in SPATIAL_OUT:
            torch.testing.assert_close(
                x[k], y[k], atol=atol, rtol=0,
                msg=lambda m, k=k, i=i: f'aux {i} {k}: {m}')


@pytest.mark.parametrize('bs', [1, 2])
@pytest.mark.parametrize('memory', [False, True])
@torch.no_grad()
def test_spatial_only_equals_full_sequence(tiny, bs, memory):
    dec = tiny.decoder()
    ms, mf = tiny.features(bs=bs, seed=1)
    extra = _prompts(tiny, bs)
    if memory:
        first = dec(ms, mf, 'interactive', dict(extra), _gen(7))
        extra['prev_mask'] = first['prev_mask']
    full = dec(ms, mf, 'interactive', dict(extra), _gen(3))
    only = dec(ms, mf, 'interactive', dict(extra, spatial_only=True), _gen(3))
    _assert_spatial_equal(only, full)
    assert only['pred_smasks'].shape == (bs, 6, 16, 16)
    assert only['prev_mask'].shape == (bs, 2, 16, 16)
    # object outputs are not computed
    assert not {'pred_logits', 'pred_masks', 'pred_captions'} & set(only)
    # another seed draws other spatial queries / points: outputs differ
    other = dec(ms, mf, 'interactive', dict(extra, spatial_only=True), _gen(4))
    assert not torch.allclose(other['pred_smasks'], only['pred_smasks'])


@torch.no_grad()
def test_spatial_only_uneven_prompt_counts_and_refimg(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features(bs=2, seed=2)
    pos2, neg2 = tiny.masks(2)
    pos1, neg1 = tiny.masks(1)
    extra = dict(spatial_query_pos_mask=[pos2, pos1],
                 spatial_query_neg_mask=[neg2, neg1])
    full = dec(ms, mf, 'interactive', dict(extra), _gen(5))
    only = dec(ms, mf, 'interactive', dict(extra, spatial_only=True), _gen(5))
    _assert_spatial_equal(only, full)
    # visual referring reuses the spatial path
    ref = dec.encode_reference([f[:1] for f in ms], mf[:1],
                               [pos2], [neg2], _gen(0))
    full = dec(ms, mf, 'refimg', dict(refimg_tokens=ref), _gen(1))
    only = dec(ms, mf, 'refimg', dict(refimg_tokens=ref, spatial_only=True),
               _gen(1))
    _assert_spatial_equal(only, full)


@pytest.mark.parametrize('bs', [1, 2])
@torch.no_grad()
def test_prepared_features_give_same_outputs_and_stay_untouched(tiny, bs):
    dec = tiny.decoder()
    ms, mf = tiny.features(bs=bs, seed=3)
    prepared = dec.prepare_features(ms)
    assert prepared.memory_kv is not None and len(prepared.memory_kv) == 3
    assert prepared.projected is not None and len(prepared.projected) == 3
    tensors = (prepared.src + prepared.pos + prepared.maps +
               prepared.projected +
               [t for kv in prepared.memory_kv for t in kv] + ms + [mf])
    snapshot = [t.clone() for t in tensors]
    versions = [t._version for t in tensors]

    # generic segmentation: bitwise the same keys / values
    a = dec(ms, mf, 'panoptic')
    b = dec(ms, mf, 'panoptic', prepared=prepared)
    torch.testing.assert_close(b['pred_masks'], a['pred_masks'], atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(b['pred_logits'], a['pred_logits'],
                               atol=1e-5, rtol=0)
    # interactive rounds (with memory), full and spatial-only sequences
    extra = _prompts(tiny, bs)
    r1 = dec(ms, mf, 'interactive', dict(extra), _gen(2))
    r1c = dec(None, mf, 'interactive', dict(extra), _gen(2), prepared=prepared)
    _assert_spatial_equal(r1c, r1)
    torch.testing.assert_close(r1c['pred_masks'], r1['pred_masks'],
                               atol=1e-5, rtol=0)
    extra['prev_mask'] = r1['prev_mask']
    r2 = dec(ms, mf, 'interactive', dict(extra), _gen(9))
    r2c = dec(ms, mf, 'interactive', dict(extra, spatial_only=True), _gen(9),
              prepared=prepared)
    _assert_spatial_equal(r2c, r2)
    # grounding uses the cache too
    tokens = torch.randn(3, bs, 32, generator=_gen(1))
    g = dec(ms, mf, 'referring', dict(grounding_tokens=tokens))
    gc = dec(ms, mf, 'referring', dict(grounding_tokens=tokens),
             prepared=prepared)
    torch.testing.assert_close(gc['pred_gmasks'], g['pred_gmasks'],
                               atol=1e-5, rtol=0)

    for t, s in zip(tensors, snapshot):
        assert torch.equal(t, s)
    assert [t._version for t in tensors] == versions


@torch.no_grad()
def test_bad_spatial_only_and_prepared(tiny):
    dec = tiny.decoder()
    ms, mf = tiny.features(bs=1)
    extra = _prompts(tiny, 1)
    with pytest.raises(ValueError, match='spatial_only needs visual'):
        dec(ms, mf, 'interactive', dict(spatial_only=True))
    with pytest.raises(ValueError, match='grounding'):
        dec(ms, mf, 'interactive', dict(extra, spatial_only=True,
                                    grounding_tokens=torch.randn(3, 1, 32)))
    with pytest.raises(TypeError, match='PreparedFeatures'):
        dec(ms, mf, 'panoptic', prepared=dict(src=ms))
    ms2, mf2 = tiny.features(bs=2)
    with pytest.raises(ValueError, match='prepare the same image batch'):
        dec(ms, mf, 'panoptic', prepared=dec.prepare_features(ms2))
    with pytest.raises(ValueError, match='prepare_features on these'):
        dec([f[..., :2, :2] for f in ms], mf, 'panoptic',
            prepared=dec.prepare_features(ms))


def test_prepared_cache_only_without_grad(tiny):
    dec = tiny.decoder().train()
    ms, mf = tiny.features(bs=1)
    # with gradients: no key/value cache by default, training is unchanged
    prepared = dec.prepare_features(ms)
    assert prepared.memory_kv is None and prepared.projected is None
    out = dec(ms, mf, 'panoptic', prepared=prepared)
    out['pred_masks'].sum().backward()
    w = dec.transformer_cross_attention_layers[0].multihead_attn
    assert w.in_proj_weight.grad is not None
    assert w.in_proj_weight.grad[32:].abs().sum() > 0  # keys / values
    # a no-grad cache cannot silently cut the gradients
    with torch.no_grad():
        cached = dec.prepare_features(ms)
    with pytest.raises(ValueError, match='without gradients'):
        dec(ms, mf, 'panoptic', prepared=cached)


@torch.no_grad()
def test_segmentor_rounds_use_spatial_only_and_cached_features():
    from mmdet.structures import DetDataSample
    from mmengine.config import Config

    from mmseem.registry import MODELS
    from mmseem.structures.visual_prompts import VisualPrompts
    from mmseem.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile('configs/seem/seem_tiny_synthetic-panoptic.py')
    model = MODELS.build(cfg.model).eval()
    model.set_vocabulary(['circle', 'square'], ['sky'])
    img = torch.randint(0, 255, (3, 64, 96), generator=_gen(0),
                        dtype=torch.uint8)

    def sample(prev=None):
        ds = DetDataSample(
            metainfo=dict(img_shape=(64, 96), ori_shape=(64, 96)))
        ds.visual_prompts = VisualPrompts.from_points(
            [[[30., 20.], [50., 40.]], [[70., 10.]]],
            labels=[[1, 0], [1]], image_size=(64, 96))
        if prev is not None:
            ds.prev_mask = prev
        return ds

    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample()]), False)
    feats = model.extract_feat(data['inputs'], prepare=True)
    assert feats.prepared is not None
    samples = data['data_samples']
    spy = mock.patch.object(model.predictor, 'prepare_features',
                            wraps=model.predictor.prepare_features)
    with spy as prep:
        r1 = model.predict_prompts(feats, samples)[0].pred_instances
        s2 = sample(r1.prev_mask)
        s2.set_metainfo(samples[0].metainfo)
        r2 = model.predict_prompts(feats, [s2])[0].pred_instances
        assert prep.call_count == 0  # prepared by extract_feat, reused
        # features without the prepared view: prepared per call, and the
        # caller's features are never written into
        plain = model.extract_feat(data['inputs'])
        model.predict_prompts(plain, samples)
        assert prep.call_count == 1 and plain.prepared is None
    with pytest.raises(Exception):
        plain.prepared = feats.prepared  # frozen dataclass

    # reference: the full query sequence, no cache
    def reference(s, prev=None):
        prompts = visual_prompt_masks([s], feats)
        prompts.vocabulary = 'default'
        out = model.sem_seg_head.decode(
            feats['mask_features'], feats['multi_scale_features'],
            'interactive',
            prompts, model._generator(feats['mask_features'].device))
        assert 'pred_logits' in out
        return out

    ref1 = reference(samples[0])
    torch.testing.assert_close(r1.prev_mask, ref1['prev_mask'][0], atol=1e-5,
                               rtol=0)
    ref2 = reference(s2)
    torch.testing.assert_close(r2.prev_mask, ref2['prev_mask'][0], atol=1e-5,
                               rtol=0)
    _, index = model.predictor.select_spatial_masks(ref2)
    emb = ref2['pred_stexts'][0][index[0]]
    prob = model.lang_encoder.compute_similarity(
        emb, name='default')[:, :-1].softmax(-1)
    scores, labels = prob.max(-1)
    assert torch.equal(labels, r2.labels)
    torch.testing.assert_close(scores, r2.scores, atol=1e-5, rtol=0)
