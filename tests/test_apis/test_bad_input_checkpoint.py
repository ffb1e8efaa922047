"""Loading SEEM: a checkpoint that does not fit is an error with both
loaders (mmseem.apis.init_model, mmseg.apis.init_model); plain state dicts
load with mmseem's; inference_model(array) then (path) works."""
import cv2
import numpy as np
import pytest
import torch

from mmseem.apis import init_model
from mmseem.utils.checkpoint_fit import CheckpointMismatchError


def _save(path, obj):
    torch.save(obj, str(path))
    return str(path)


@pytest.fixture(scope='module')
def state(tiny_model):
    return {k: v.clone() for k, v in tiny_model.state_dict().items()}


def _foreign():
    return {'decode_head.conv_seg.weight': torch.zeros(19, 512, 1, 1),
            'backbone.stem.conv.weight': torch.zeros(64, 3, 7, 7)}


@pytest.mark.parametrize('loader', ['mmseem', 'mmseg'])
@pytest.mark.parametrize('kind', ['foreign', 'reshaped', 'half'])
def test_checkpoint_that_does_not_fit(tiny_cfg, state, tmp_path, loader,
                                      kind):
    if kind == 'foreign':  # another model's checkpoint: no key matches
        sd = _foreign()
    elif kind == 'reshaped':  # same keys, another size (e.g. Focal-L)
        sd = {k: torch.zeros(tuple(s + 1 for s in v.shape))
              for k, v in state.items()}
    else:  # fewer than half of the entries
        keys = list(state)[:len(state) // 3]
        sd = {k: state[k] for k in keys}
    meta = dict(dataset_meta=dict(classes=['a', 'b']))
    path = _save(tmp_path / 'x.pth', dict(state_dict=sd, meta=meta))
    if loader == 'mmseem':
        fn = init_model
    else:
        from mmseg.apis import init_model as fn
    with pytest.raises(CheckpointMismatchError) as info:
        fn(tiny_cfg.copy(), path, device='cpu')
    msg = str(info.value)
    assert 'does not fit SEEM' in msg and 'seem2mmseem.py' in msg
    expect = dict(foreign='unexpected', reshaped='other shape',
                  half='missing')[kind]
    assert expect in msg


def test_plain_state_dict_loads(tiny_cfg, state, tmp_path, make_image):
    path = _save(tmp_path / 'plain.pth', state)
    model = init_model(tiny_cfg.copy(), path, device='cpu')
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert not model.training and model.cfg is not None
    # mmseg's init_model reads checkpoint['meta'] (documented limitation)
    from mmseg.apis import init_model as mmseg_init
    with pytest.raises(KeyError, match='meta'):
        mmseg_init(tiny_cfg.copy(), path, device='cpu')


def test_meta_gives_the_vocabulary(tiny_cfg, tiny_checkpoint):
    model = init_model(tiny_cfg.copy(), tiny_checkpoint, device='cpu')
    assert model.get_vocabulary()[0][0] == 'circle'


def test_partial_checkpoint_still_loads(tiny_cfg, state, tmp_path):
    keys = list(state)
    sd = {k: state[k] for k in keys[:int(len(keys) * 0.9)]}
    path = _save(tmp_path / 'partial.pth', dict(state_dict=sd))
    init_model(tiny_cfg.copy(), path, device='cpu')


@pytest.mark.parametrize('bad, err, match', [
    ('no/such/config.py', FileNotFoundError, 'config file.*does not exist'),
    (12, TypeError, 'config must be a config file path'),
])
def test_bad_config(bad, err, match):
    with pytest.raises(err, match=match):
        init_model(bad)


def test_inference_model_array_then_path(tiny_cfg, tiny_checkpoint,
                                         tmp_path):
    from mmseg.apis import inference_model
    from mmseg.apis import init_model as mmseg_init
    model = mmseg_init(tiny_cfg.copy(), tiny_checkpoint, device='cpu')
    img = np.random.RandomState(0).randint(0, 256, (40, 50, 3), np.uint8)
    path = str(tmp_path / 'img.png')
    cv2.imwrite(path, img)
    a = inference_model(model, img)
    assert model.cfg.test_pipeline[0]['type'] == 'LoadImageFromNDArray'
    b = inference_model(model, path)  # was KeyError: 'img'
    assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    c = inference_model(model, img)
    assert torch.equal(a.pred_sem_seg.data, c.pred_sem_seg.data)
