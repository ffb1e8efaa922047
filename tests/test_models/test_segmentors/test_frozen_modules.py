"""``SEEM(frozen_modules=...)``: the official ``SOLVER.FIX_PARAM``
(requires_grad=False by name substring), on the tiny SEEM."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData, PixelData

from mmseem.registry import MODELS
from mmseem.utils import register_all_modules  # noqa: F401

H = W = 64
FROZEN = ('backbone', 'pixel_decoder', 'lang_encoder')


def _model(frozen=FROZEN):
    torch.manual_seed(0)
    cfg = Config.fromfile('configs/seem/seem_tiny_synthetic-panoptic.py')
    cfg.model.frozen_modules = frozen
    cfg.model.train_cfg = dict(criterion=dict(
        type='SEEMLoss', num_points=64,
        assigner=dict(type='PromptAwareHungarianAssigner', num_points=64),
        prompt_simulator=dict(type='InteractivePromptSimulator',
                              max_instances=2, max_rounds=1),
        class_names=dict(thing_classes=['square'], stuff_classes=['sky']),
        seed=0))
    return MODELS.build(cfg.model).train()


def _batch(model):
    ds = DetDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
    m = np.zeros((1, H, W), np.uint8)
    m[0, 10:40, 12:44] = 1
    ds.gt_instances = InstanceData(labels=torch.tensor([0]),
                                   masks=BitmapMasks(m, H, W),
                                   bboxes=torch.zeros(1, 4))
    sem = torch.full((1, H, W), 255, dtype=torch.long)
    sem[:, :6] = 1
    ds.gt_sem_seg = PixelData(sem_seg=sem)
    ds.gt_texts = ['the square']
    ds.gt_text_inds = torch.tensor([0])
    img = torch.randint(0, 255, (3, H, W), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    return model.data_preprocessor(dict(inputs=[img], data_samples=[ds]),
                                   True)


def test_frozen_parts_get_no_gradient():
    model = _model()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(any(k in n for k in FROZEN) for n in frozen)
    # official substring semantics: lang_proj / logit_scale live under
    # sem_seg_head.predictor.lang_encoder and are frozen too
    assert any(n.startswith('backbone.') for n in frozen)
    assert any('.pixel_decoder.' in n for n in frozen)
    assert any(n.endswith('lang_encoder.logit_scale') for n in frozen)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any('predictor.query_feat' in n for n in trainable)
    assert not any(any(k in n for k in FROZEN) for n in trainable)

    data = _batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for n, p in model.named_parameters():
        if n in frozen:
            assert p.grad is None, n
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for n, p in model.named_parameters() if n not in frozen)


def test_unfrozen_by_default():
    model = _model(frozen=())
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize('bad', [('bakcbone', ), ('', )])
def test_bad_keys_are_errors(bad):
    with pytest.raises(ValueError, match='frozen_modules'):
        _model(frozen=bad)
