"""SEEMPredictor: bad prompts, texts, images and paths are errors that name
the problem; masks are bool at the original size, logits at the model's."""
import numpy as np
import pytest
import torch

from mmseem.apis import SEEMPredictor

THINGS = ['circle', 'square', 'triangle']
H, W = 70, 100


@pytest.fixture
def predictor(tiny_model, make_image):
    tiny_model.set_vocabulary(THINGS, ['sky'])
    pred = SEEMPredictor(tiny_model)
    pred.set_image(make_image(H, W))
    return pred


@pytest.mark.parametrize('kwargs, err, match', [
    (dict(points=[]), ValueError, r'points is empty \(points=\[\]\)'),
    (dict(points=np.zeros((0, 1, 2))), ValueError, 'points is empty'),
    (dict(boxes=[]), ValueError, 'boxes is empty'),
    (dict(masks=np.zeros((0, H, W), bool)), ValueError, 'masks is empty'),
    (dict(points='10,20'), TypeError, 'points must be numbers'),
    (dict(points=[[[10., 20.]]], text=123), TypeError,
     'text must be a sentence.*got int 123'),
    (dict(points=[[[10., 20.]]], text=['the dog', 5]), TypeError,
     r'text\[1\] is int'),
    (dict(points=[[[10., 20.]]], text='  '), ValueError, 'empty or blank'),
    (dict(points=[[[10., 20.]]], text=[]), ValueError, 'empty list'),
])
def test_bad_prompts(predictor, kwargs, err, match):
    with pytest.raises(err, match=match):
        predictor.predict(**kwargs)


@pytest.mark.parametrize('text, err, match', [
    (None, TypeError, 'predict_text needs text'),
    (123, TypeError, 'got int 123'),
    ('', ValueError, 'empty or blank'),
])
def test_bad_predict_text(predictor, text, err, match):
    with pytest.raises(err, match=match):
        predictor.predict_text(text)


def test_bad_reference_prompts(predictor, make_image):
    with pytest.raises(ValueError, match='points is empty'):
        predictor.predict_reference(make_image(40, 50), dict(points=[]))


def test_set_vocabulary_none(predictor):
    with pytest.raises(TypeError, match='vocabulary is None'):
        predictor.set_vocabulary(None)


@pytest.mark.parametrize('shape', [(1, 5000), (5000, 1), (2, 900)])
def test_thin_images_name_their_size(tiny_model, shape):
    # tiny config: keep-ratio resize into 128 x 128
    pred = SEEMPredictor(tiny_model)
    img = np.full(shape + (3, ), 128, np.uint8)
    with pytest.raises(ValueError) as info:
        pred.set_image(img)
    msg = str(info.value)
    assert f'{shape[0]} x {shape[1]}' in msg and 'too thin' in msg
    assert 'short side is at least' in msg
    assert not pred.is_image_set


def test_thin_image_at_the_limit_works(tiny_model):
    pred = SEEMPredictor(tiny_model)
    pred.set_image(np.full((4, 900, 3), 128, np.uint8))  # -> 1 x 128
    assert pred.model_size == (1, 128)
    out = pred.predict(points=[[[450., 2.]]])
    assert out['masks'].shape == (1, 4, 900)


def test_missing_config_and_checkpoint(tmp_path, tiny_cfg):
    with pytest.raises(FileNotFoundError, match='nope_config.py.*does not'):
        SEEMPredictor.from_config(str(tmp_path / 'nope_config.py'))
    with pytest.raises(FileNotFoundError, match='nope.pth.*does not exist'):
        SEEMPredictor.from_config(tiny_cfg.copy(), str(tmp_path / 'nope.pth'))


# ----------------------------------------------------------------- positive
def test_masks_bool_full_size_logits_model_size(predictor, tiny_model):
    assert predictor.model_size == (90, 128)
    out = predictor.predict(points=[[[30., 20.]], [[80., 60.]]])
    assert out['masks'].dtype == bool and out['masks'].shape == (2, H, W)
    assert out['logits'].dtype == np.float32
    assert out['logits'].shape == (2, 90, 128)
    # the same masks as SEEM's own full-size post-processing
    sample = predictor._new_sample()  # ori_shape = the original size
    sample.visual_prompts = predictor.build_prompts(
        points=[[[30., 20.]], [[80., 60.]]])
    with torch.no_grad():
        ref = tiny_model.predict_prompts(predictor._feats, [sample])[0]
    full = ref.pred_instances.masks.numpy()
    assert full.shape == (2, H, W)
    logits = ref.pred_instances.mask_logits
    unsure = (logits.abs() < 1e-4).numpy()  # float rounding at 0
    assert ((out['masks'] == full) | unsure).all()
    assert out['masks'].any() and (~out['masks']).any()


def test_resize_threshold_matches_interpolate():
    from mmseem.apis.mask_resize import resize_threshold
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 17, 23, generator=gen)
    for size in [(70, 100), (17, 23), (5, 300), (301, 4)]:
        ref = torch.nn.functional.interpolate(
            logits[None], size=size, mode='bilinear', align_corners=False)[0]
        got = resize_threshold(logits, size, 0.1)
        unsure = ((ref - 0.1).abs() < 1e-5).numpy()
        assert got.dtype == bool and got.shape == (3, ) + size
        assert ((got == (ref > 0.1).numpy()) | unsure).all()
