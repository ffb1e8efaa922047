"""SEEMPredictor: features once, every prompt type, memory, errors."""
from unittest import mock

import numpy as np
import pytest
import torch

from mmseem.apis import SEEMPredictor
from mmseem.structures import VisualPrompts

THINGS = ['circle', 'square', 'triangle']
STUFF = ['sky', 'grass']
H, W = 70, 100


@pytest.fixture
def predictor(tiny_model, make_image):
    tiny_model.set_vocabulary(THINGS, STUFF)
    pred = SEEMPredictor(tiny_model)
    pred.set_image(make_image(H, W))
    return pred


def _check(out, num):
    assert out['masks'].shape == (num, H, W) and out['masks'].dtype == bool
    assert out['scores'].shape == (num, )
    assert out['labels'].shape == (num, )
    assert len(out['label_names']) == num
    # logits at the model's resolution (tiny config: 70 x 100 -> 90 x 128)
    assert out['logits'].shape == (num, 90, 128)


def test_features_once_for_many_rounds(tiny_model, make_image):
    pred = SEEMPredictor(tiny_model)
    with mock.patch.object(tiny_model, 'extract_feat',
                           wraps=tiny_model.extract_feat) as spy, \
            mock.patch.object(tiny_model.backbone, 'forward',
                              wraps=tiny_model.backbone.forward) as bb:
        pred.set_image(make_image(H, W))
        for k in range(3):
            pred.predict(points=[[[10. + k, 20.]]])
        pred.predict(boxes=[[5., 5., 40., 30.]])
        pred.predict_text('the circle')
        assert spy.call_count == 1
        assert bb.call_count == 1
        pred.set_image(make_image(H, W, seed=1))
        assert spy.call_count == 2


def test_resize_and_padding_metainfo(predictor):
    meta = predictor._sample.metainfo
    # tiny config: mmdet.Resize to fit 128 x 128, padded to 32
    assert meta['ori_shape'] == (H, W)
    assert meta['img_shape'] == (90, 128)
    assert predictor._feats['input_shape'] == (96, 128)
    assert predictor.original_size == (H, W)


def test_memory_passed_from_round_two(predictor, tiny_model):
    seen = []
    real = tiny_model.predict_prompts

    def spy(feats, samples, **kwargs):  # kwargs: the session's generator
        seen.append(samples[0].get('prev_mask'))
        return real(feats, samples, **kwargs)

    with mock.patch.object(tiny_model, 'predict_prompts', side_effect=spy):
        r1 = predictor.predict(points=[[[30., 20.]]], point_labels=[[1]])
        predictor.predict(points=[[[30., 20.], [60., 50.]]],
                          point_labels=[[1, 0]])
        predictor.predict(points=[[[30., 20.]]], use_memory=False)
        # two prompts now: a different object set starts fresh
        predictor.predict(points=[[[30., 20.]], [[80., 60.]]])
        predictor.reset()
        predictor.predict(points=[[[30., 20.]], [[80., 60.]]])
    assert seen[0] is None
    assert torch.is_tensor(seen[1]) and seen[1].shape[0] == 1
    # the memory is exactly the previous round's prev_mask
    np.testing.assert_allclose(seen[1].shape[-2:], (96 // 4, 128 // 4))
    assert seen[2] is None and seen[3] is None and seen[4] is None
    _check(r1, 1)


@pytest.mark.parametrize('kind', [
    'points', 'boxes', 'scribbles', 'polygons', 'masks', 'prompts'
])
def test_each_prompt_type(predictor, kind):
    if kind == 'points':
        kw = dict(points=[[[30., 20.], [40., 25.]], [[80., 60.]]],
                  point_labels=[[1, 0], [1]])
    elif kind == 'boxes':
        kw = dict(boxes=np.array([[10., 10., 40., 30.], [60, 40, 99, 69]]))
    elif kind == 'scribbles':
        kw = dict(scribbles=[[[10., 10.], [30., 20.]], [[70., 50.],
                                                         [90., 60.]]])
    elif kind == 'polygons':
        kw = dict(polygons=[[[10., 10.], [40., 10.], [25., 30.]],
                            [[70., 50.], [99., 50.], [99., 69.]]])
    elif kind == 'masks':
        m = np.zeros((2, H, W), bool)
        m[0, 5:25, 5:30] = m[1, 50:70, 60:100] = True
        kw = dict(masks=m)
    else:
        kw = dict(prompts=VisualPrompts.from_boxes(
            [[10., 10., 40., 30.], [60., 40., 99., 69.]], (H, W)))
    out = predictor.predict(**kw)
    _check(out, 2)
    assert all(n in THINGS + STUFF for n in out['label_names'])
    assert (out['labels'] >= 0).all()


def test_text_with_visual_prompt_and_vocabulary(predictor):
    out = predictor.predict(points=[[[30., 20.]]], text='the circle')
    _check(out, 1)
    predictor.set_vocabulary(['dog', 'cat'])
    out = predictor.predict(points=[[[30., 20.]]])
    assert out['label_names'][0] in ('dog', 'cat')


def test_no_vocabulary_gives_minus_one(tiny_model, make_image):
    saved = tiny_model._vocabulary
    tiny_model._vocabulary = None
    try:
        pred = SEEMPredictor(tiny_model)
        pred.set_image(make_image(H, W))
        out = pred.predict(points=[[[30., 20.]]])
    finally:
        tiny_model._vocabulary = saved
    assert out['labels'].tolist() == [-1] and out['label_names'] == [None]


def test_predict_text(predictor):
    out = predictor.predict_text(['the red circle', 'the sky'])
    assert out['masks'].shape == (2, H, W)
    assert out['texts'] == ['the red circle', 'the sky']
    assert out['label_names'] == out['texts']
    with pytest.raises(ValueError, match='empty or blank'):
        predictor.predict_text('  ')


def test_predict_reference(predictor, make_image):
    ref = make_image(50, 60, seed=3)
    out = predictor.predict_reference(
        ref, dict(points=[[[20., 20.]], [[50., 40.]]]))
    assert out['masks'].shape == (2, H, W)
    with pytest.raises(ValueError, match='ref_image pixels'):
        predictor.predict_reference(
            ref, VisualPrompts.from_points([[[5., 5.]]], image_size=(H, W)))


def test_bad_inputs(tiny_model, predictor):
    with pytest.raises(RuntimeError, match='set_image'):
        SEEMPredictor(tiny_model).predict(points=[[[1., 1.]]])
    with pytest.raises(ValueError, match=r'outside the image of size '
                       r'\(H=70, W=100\)'):
        predictor.predict(points=[[[150., 20.]]])
    with pytest.raises(ValueError, match=r'\[P, N, 2\].*points\[:, None\]'):
        predictor.predict(points=np.array([[30., 20.], [40., 25.]]))
    with pytest.raises(ValueError, match='resize=True'):
        predictor.predict(masks=np.ones((1, 10, 10), bool))
    with pytest.raises(ValueError, match='no visual prompt'):
        predictor.predict()
    with pytest.raises(ValueError, match='image set has size'):
        predictor.predict(prompts=VisualPrompts.from_points(
            [[[1., 1.]]], image_size=(10, 10)))
    with pytest.raises(TypeError, match='unknown prompt options'):
        predictor.predict(points=[[[1., 1.]]], radus=2)
    with pytest.raises(TypeError, match='SEEM segmentor'):
        SEEMPredictor(torch.nn.Linear(2, 2))
    # prompt options reach VisualPrompts
    out = predictor.predict(points=[[[150., 20.]]], clip=True)
    assert out['masks'].shape == (1, H, W)


def test_from_config(tiny_cfg, tiny_checkpoint, make_image):
    # through mmseg.apis.init_model
    pred = SEEMPredictor.from_config(tiny_cfg, tiny_checkpoint)
    pred.set_image(make_image(H, W))
    out = pred.predict(points=[[[30., 20.]]])
    # vocabulary from the checkpoint's dataset_meta
    assert out['label_names'][0] in pred.model.dataset_meta['classes']
