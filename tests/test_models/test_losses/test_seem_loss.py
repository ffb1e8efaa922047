"""SEEMLoss on the tiny SEEM (64 px, seeded): finite losses that decrease,
empty annotations, non-finite detection, the X-Decoder variant."""
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
CRITERION = dict(
    type='SEEMLoss',
    num_points=128,
    assigner=dict(type='PromptAwareHungarianAssigner', num_points=128),
    prompt_simulator=dict(type='InteractivePromptSimulator',
                          max_instances=3, max_rounds=1),
    class_names=dict(thing_classes=['circle', 'square'],
                     stuff_classes=['sky']),
    seed=0)


def _model(**predictor):
    torch.manual_seed(0)
    cfg = Config.fromfile('configs/seem/seem_tiny_synthetic-panoptic.py')
    cfg.model.sem_seg_head.predictor.update(predictor)
    cfg.model.train_cfg = dict(criterion=CRITERION)
    return MODELS.build(cfg.model).train()


def _sample(instances=True, text=True):
    ds = DetDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
    m = np.zeros((2, H, W), np.uint8)
    m[0, 10:30, 10:30] = 1
    m[1, 36:60, 30:56] = 1
    if not instances:
        m = m[:0]
    ds.gt_instances = InstanceData(
        labels=torch.tensor([0, 1][:len(m)]), masks=BitmapMasks(m, H, W),
        bboxes=torch.zeros(len(m), 4))
    sem = torch.full((1, H, W), 255, dtype=torch.long)
    if instances:
        sem[:, :6] = 2  # a 'sky' stuff band
    ds.gt_sem_seg = PixelData(sem_seg=sem)
    if text and instances:
        ds.gt_texts = ['the square at the bottom']
        ds.gt_text_inds = torch.tensor([1])
    return ds


def _batch(model, samples):
    g = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 255, (3, H, W), generator=g, dtype=torch.uint8)
            for _ in samples]
    # paint the objects so that they are learnable
    for img in imgs:
        img[:, 10:30, 10:30] = torch.tensor([220, 20, 20])[:, None, None]
        img[:, 36:60, 30:56] = torch.tensor([20, 20, 220])[:, None, None]
    return model.data_preprocessor(dict(inputs=imgs, data_samples=samples),
                                   True)


def _total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_losses_finite_and_decreasing():
    model = _model()
    data = _batch(model, [_sample(), _sample(text=False)])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    totals = []
    for _ in range(4):
        losses = model.loss(data['inputs'], data['data_samples'])
        total = _total(losses)
        assert torch.isfinite(total)
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    names = set(losses)
    for key in ('loss_cls', 'loss_mask', 'loss_dice', 'loss_grounding_ce',
                'loss_grounding_bce', 'loss_spatial_ce', 'loss_spatial_dice',
                'd0.loss_cls', 'd2.loss_spatial_bce'):
        assert key in names, key
    # dec_layers=3: last + 3 auxiliary prediction sets, 9 terms each
    assert len(names) == 4 * 9
    assert losses['loss_grounding_ce'] > 0 and losses['loss_spatial_ce'] > 0
    assert totals[-1] < totals[0], totals


def test_empty_annotations_give_zero_losses():
    model = _model()
    data = _batch(model, [_sample(instances=False), _sample(instances=False)])
    losses = model.loss(data['inputs'], data['data_samples'])
    for k, v in losses.items():
        assert torch.isfinite(v), k
        if 'cls' not in k:  # no-object CE is the only non-zero term
            assert v.item() == 0, k
    _total(losses).backward()  # graph is intact


def test_mixed_batch_with_one_empty_image():
    model = _model()
    data = _batch(model, [_sample(), _sample(instances=False)])
    losses = model.loss(data['inputs'], data['data_samples'])
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_spatial_dice'] > 0


def test_non_finite_loss_names_the_term():
    model = _model()
    with torch.no_grad():
        model.predictor.mask_embed.layers[-1].bias.fill_(float('nan'))
    data = _batch(model, [_sample()])
    with pytest.raises(FloatingPointError, match='loss_'):
        model.loss(data['inputs'], data['data_samples'])


def test_xdecoder_variant_has_no_spatial_losses():
    model = _model(spatial=False)
    data = _batch(model, [_sample()])
    losses = model.loss(data['inputs'], data['data_samples'])
    assert not any('spatial' in k for k in losses)
    assert 'loss_grounding_ce' in losses


def test_bad_config():
    with pytest.raises(ValueError, match='tasks'):
        MODELS.build(dict(CRITERION, tasks=('nope', )))
    with pytest.raises(ValueError, match='class_names'):
        MODELS.build(dict(CRITERION, class_names='NoSuchDataset'))


def test_spatial_only_corrective_rounds_equal_full_decoder_rounds(
        monkeypatch):
    """The training rounds run only the spatial queries on features
    prepared once (issue 13); the clicks they add, the memory they pass on
    and every loss equal the full-decoder rounds (float rounding only)."""
    from mmseem.models.heads import seem_head
    from mmseem.models.heads.decoder_prompts import DecoderPrompts
    from mmseem.structures.tasks import Task

    def full_rounds(head, feats, sp, rounds, gen):  # the previous loop
        import torch.nn.functional as F
        prev, size = None, sp[0].gt.shape[-2:]
        for _ in range(rounds):
            prompts = DecoderPrompts(
                spatial_pos_masks=[x.pos for x in sp],
                spatial_neg_masks=[x.neg for x in sp],
                prev_mask=prev, vocabulary=None)
            with torch.no_grad():
                out = head.decode(feats.mask_features,
                                  feats.multi_scale_features,
                                  Task.INTERACTIVE, prompts, gen)
            prev = out['prev_mask']
            up = F.interpolate(prev.float(), size=size, mode='bilinear',
                               align_corners=False).sigmoid() > 0.5
            for b, x in enumerate(sp):
                nxt = head.criterion.simulator.next_click(
                    up[b, :len(x.pos)], x.gt, x.pos, x.neg, x.fp)
                x.pos, x.neg = nxt['pos_masks'], nxt['neg_masks']
                x.fp = nxt['false_positive_mask']
        return prev

    model = _model()
    crit = model.sem_seg_head.criterion
    monkeypatch.setattr(crit.simulator, 'num_rounds', lambda rng: 3)
    data = _batch(model, [_sample(), _sample(text=False)])
    crit._calls = 0
    fast = model.loss(data['inputs'], data['data_samples'])
    monkeypatch.setattr(seem_head, 'corrective_rounds', full_rounds)
    crit._calls = 0  # the same step: the same random streams
    slow = model.loss(data['inputs'], data['data_samples'])
    assert set(fast) == set(slow)
    for k in fast:
        torch.testing.assert_close(fast[k], slow[k], rtol=1e-4, atol=1e-5,
                                   msg=k)
