"""propagate_video validates frames and the first-frame masks as the
predictor validates images: no silent stretch, float frames scaled, gray
frames converted."""
import numpy as np
import pytest
import torch

from mmseem.apis.video import VideoPropagator, propagate_video

H, W = 40, 56


def _frames(n=2, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, 256, (H, W, 3), np.uint8) for _ in range(n)]


def _mask():
    m = np.zeros((1, H, W), bool)
    m[0, 10:25, 15:40] = True
    return m


@pytest.mark.parametrize('frames, masks, err, match', [
    (_frames(), np.zeros((1, 20, 28), bool), ValueError,
     r'first_masks have size \(20, 28\).*frame 0 has size \(40, 56\)'),
    (_frames(), np.zeros((H, W + 1), np.uint8), ValueError,
     'not stretched'),
    (_frames(), np.zeros((1, H, W)), ValueError, 'mark no object'),
    (_frames(), np.full((1, H, W), 0.7), ValueError,
     'must be binary.*masks > 0.5'),
    (_frames(), np.full((H, W), 1.5), TypeError, 'id map.*integers'),
    (_frames(), np.zeros((1, 1, H, W), bool), ValueError,
     r'\[K, H, W\] or an id map'),
    ([], _mask(), ValueError, 'frames is empty'),
    (_frames()[0], _mask(), ValueError, 'one array of shape'),
    ([_frames()[0], np.full((H, W, 3), 2.0)], _mask(), ValueError,
     r'frame 1: .*float image with values in \[2, 2\]'),
    ([_frames()[0], np.zeros((3, H, W), np.uint8)], _mask(), ValueError,
     'frame 1: .*channel-first'),
    ([_frames()[0], 'frame.jpg'], _mask(), TypeError, 'frame 1 is a str'),
])
def test_bad_video_input(tiny_model, frames, masks, err, match):
    with pytest.raises(err, match=match):
        propagate_video(tiny_model, frames, masks)


@pytest.mark.parametrize('scale', [0, -1., float('nan'), 0.001])
def test_bad_scale(tiny_model, scale):
    with pytest.raises(ValueError, match='scale'):
        propagate_video(tiny_model, _frames(), _mask(), scale=scale)


def test_set_reference_refuses_another_size(tiny_model):
    from mmdet.structures import DetDataSample
    prop = VideoPropagator(tiny_model, load_gt=False)
    sample = DetDataSample(metainfo=dict(ori_shape=(H, W), img_shape=(H, W),
                                         seq_name='s', frame_idx=0))
    with pytest.raises(ValueError, match='not stretched'):
        prop.set_reference(torch.zeros(1, 3, H, W), sample,
                           masks=np.ones((1, H // 2, W // 2), bool))


# ----------------------------------------------------------------- positive
def test_float_and_gray_frames_read_like_uint8(tiny_model):
    frames = _frames(3)
    ref = propagate_video(tiny_model, frames, _mask())
    as_float = [f.astype(np.float32) / 255. for f in frames]
    got = propagate_video(tiny_model, as_float, _mask())
    assert all(torch.equal(a, b) for a, b in zip(ref, got))
    gray = [f[..., 0] for f in frames]
    out = propagate_video(tiny_model, gray, _mask().astype(np.uint8))
    assert len(out) == 3 and out[1].shape == (1, H, W)
    gray3 = [np.repeat(g[..., None], 3, -1) for g in gray]
    same = propagate_video(tiny_model, gray3, _mask())
    assert all(torch.equal(a, b) for a, b in zip(out, same))
