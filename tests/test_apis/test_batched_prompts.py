"""SEEMPredictor.predict_batch: several independent objects per decoder
call give what each object gives alone in its own predict() round."""
import numpy as np
import pytest
import torch

from mmseem.apis import SEEMPredictor
from mmseem.apis.batched_prompts import repeat_features, split_prompts
from mmseem.structures import VisualPrompts
THINGS = ['circle', 'square', 'triangle']
STUFF = ['sky', 'grass']


@pytest.fixture()
def predictor(tiny_model, make_image):
    pred = SEEMPredictor(tiny_model)
    pred.set_vocabulary(THINGS, STUFF)
    pred.set_image(make_image(70, 100, seed=3))
    return pred


def _prompts(size, shift=0):
    """Six objects of mixed kinds: single clicks, a click pair with a
    negative click and two boxes (more pixels than the tiny model's 32
    sampled points: the sampler subsamples, so its draws matter)."""
    clicks = VisualPrompts.build(
        size, points=[[[10 + shift, 12]], [[60, 30 + shift]], [[85, 55]]],
        point_labels=[[1], [1], [1]])
    pair = VisualPrompts.build(size, points=[[[40, 40], [45, 20 + shift]]],
                               point_labels=[[1, 0]])
    boxes = VisualPrompts.build(size, boxes=[[5, 5, 50 + shift, 40],
                                             [30, 20, 95, 65]])
    return VisualPrompts.cat([clicks, pair, boxes])


def _one_by_one(pred, rounds):
    """Per object, its rounds through predict() alone (memory on)."""
    outs = []
    for i in range(len(rounds[0])):
        pred.reset()
        for vp in rounds:
            out = pred.predict(prompts=split_prompts(vp)[i])
        outs.append(out)
    return outs


def _assert_same(batch, singles):
    assert batch['logits'].shape[0] == len(singles)
    for i, single in enumerate(singles):
        np.testing.assert_allclose(batch['logits'][i], single['logits'][0],
                                   atol=1e-5, rtol=0)
        np.testing.assert_allclose(batch['scores'][i], single['scores'][0],
                                   atol=1e-5, rtol=0)
        assert batch['labels'][i] == single['labels'][0]
        assert batch['label_names'][i] == single['label_names'][0]
        # masks are thresholded from those logits (float noise may flip a
        # pixel right at the threshold)
        assert (batch['masks'][i] != single['masks'][0]).mean() <= 1e-3


@pytest.mark.parametrize('mode', ['auto', 'joint', 'batch'])
def test_batch_equals_one_by_one(predictor, mode):
    """Both layouts (one image with N prompts / N image copies)."""
    vp = _prompts(predictor.original_size)
    batch = predictor.predict_batch(vp, mode=mode)
    assert batch['masks'].shape == (6, 70, 100)
    assert batch['masks'].dtype == bool
    _assert_same(batch, _one_by_one(predictor, [vp]))
    # the batch is not what predict() gives for the 6 objects together
    # (shared point budget and spatial-query draw): hence predict_batch
    predictor.reset()
    joint = predictor.predict(prompts=vp)
    assert not np.allclose(joint['logits'], batch['logits'], atol=1e-3)


def test_batch_with_memory_equals_one_by_one(predictor):
    size = predictor.original_size
    r1, r2 = _prompts(size), _prompts(size, shift=3)
    first = predictor.predict_batch(r1)
    second = predictor.predict_batch(r2, prev_masks=first['prev_mask'])
    _assert_same(second, _one_by_one(predictor, [r1, r2]))
    # memory matters: without it round 2 differs
    plain = predictor.predict_batch(r2)
    assert not np.allclose(plain['logits'], second['logits'], atol=1e-3)


def test_batch_size_chunks_equal_one_call(predictor):
    vp = _prompts(predictor.original_size)
    full = predictor.predict_batch(vp)
    chunked = predictor.predict_batch(vp, batch_size=2)
    np.testing.assert_allclose(full['logits'], chunked['logits'], atol=1e-5)
    assert (full['labels'] == chunked['labels']).all()


def test_batch_accepts_build_arguments(predictor):
    out = predictor.predict_batch(dict(points=[[[10, 12]], [[60, 30]]],
                                       point_labels=[[1], [1]]))
    assert out['masks'].shape[0] == 2 and len(out['prev_mask']) == 2


def test_batch_bad_input(predictor, tiny_model):
    with pytest.raises(ValueError, match='prev_masks has 1 entries'):
        predictor.predict_batch(_prompts(predictor.original_size),
                                prev_masks=[None])
    with pytest.raises(ValueError, match="memory prompts need mode='batch'"):
        first = predictor.predict_batch(_prompts(predictor.original_size))
        predictor.predict_batch(_prompts(predictor.original_size),
                                prev_masks=first['prev_mask'], mode='joint')
    with pytest.raises(ValueError, match="mode must be"):
        predictor.predict_batch(_prompts(predictor.original_size),
                                mode='fast')
    with pytest.raises(ValueError, match='batch_size must be >= 1'):
        predictor.predict_batch(_prompts(predictor.original_size),
                                batch_size=0)
    with pytest.raises(ValueError, match='image set has size'):
        predictor.predict_batch(VisualPrompts.build((10, 10),
                                                    points=[[[1, 1]]]))
    fresh = SEEMPredictor(tiny_model)
    with pytest.raises(RuntimeError, match='set_image'):
        fresh.predict_batch(dict(points=[[[1, 1]]]))


def test_repeat_features_matches_prepare_on_repeated(predictor, tiny_model):
    """The repeated prepared features equal those the decoder prepares for
    a batch of identical images (the cached layout is right)."""
    feats = dict(predictor._feats)
    rep = repeat_features(tiny_model, feats, 3)
    with torch.no_grad():
        ref = tiny_model.predictor.prepare_features(
            [f.repeat(3, 1, 1, 1) for f in feats['multi_scale_features']])
    for a, b in zip(rep['prepared'].src + rep['prepared'].maps +
                    rep['prepared'].projected,
                    ref.src + ref.maps + ref.projected):
        torch.testing.assert_close(a, b)
    for (k, v), (k2, v2) in zip(rep['prepared'].memory_kv, ref.memory_kv):
        torch.testing.assert_close(k, k2)
        torch.testing.assert_close(v, v2)


def test_batch_on_real_photo(tiny_model, shared_data):
    photos = sorted((shared_data / 'tiny_coco' / 'train2017_small')
                    .glob('*.jpg'))
    if not photos:
        pytest.skip('no photo in tiny_coco/train2017_small')
    pred = SEEMPredictor(tiny_model)
    pred.set_vocabulary(THINGS, STUFF)
    pred.set_image(str(photos[0]))
    h, w = pred.original_size
    vp = VisualPrompts.build((h, w), points=[[[w // 4, h // 4]],
                                             [[w // 2, h // 2]],
                                             [[3 * w // 4, 2 * h // 3]]],
                             point_labels=[[1], [1], [1]])
    _assert_same(pred.predict_batch(vp), _one_by_one(pred, [vp]))
