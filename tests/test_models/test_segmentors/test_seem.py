"""SEEM segmentor end to end on a tiny random-weight model (every task,
every prompt type and every pair of prompt types)."""
import itertools
from pathlib import Path

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config

from mmseem.registry import MODELS
from mmseem.structures import VisualPrompts

CFG = Path(__file__).resolve().parents[3] / 'configs' / 'seem' / \
    'seem_tiny_synthetic-panoptic.py'
THINGS = ['circle', 'square', 'triangle']
STUFF = ['sky', 'grass']
H, W = 80, 112  # not a multiple of 32: exercises padding and cropping


@pytest.fixture(scope='module')
def model():
    import mmseem.models  # noqa: F401  (registers without touching scope)
    cfg = Config.fromfile(str(CFG))
    torch.manual_seed(0)
    m = MODELS.build(cfg.model).eval()
    m.set_vocabulary(THINGS, STUFF)
    return m


def _image(seed=0, h=H, w=W):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (3, h, w), generator=g).float()


def _batch(model, samples, imgs=None):
    imgs = imgs or [_image(i) for i in range(len(samples))]
    data = model.data_preprocessor(
        dict(inputs=imgs, data_samples=samples), False)
    return data['inputs'], data['data_samples']


def _sample(h=H, w=W, ori=None, **fields):
    ds = DetDataSample(metainfo=dict(img_shape=(h, w),
                                     ori_shape=ori or (h, w)))
    for k, v in fields.items():
        setattr(ds, k, v)
    return ds


def _prompts(kind, size=(H, W)):
    """One or two prompts of the given kind (pixel coordinates x, y)."""
    if kind == 'points':
        return dict(points=[[[30., 20.], [40., 25.]], [[80., 60.]]],
                    point_labels=[[1, 0], [1]])
    if kind == 'boxes':
        return dict(boxes=[[10., 10., 40., 30.], [60., 40., 100., 70.]])
    if kind == 'scribbles':
        return dict(scribbles=[[[10., 10.], [30., 20.], [40., 25.]],
                               [[70., 50.], [90., 60.]]])
    if kind == 'polygons':
        return dict(polygons=[[[10., 10.], [40., 10.], [25., 30.]],
                              [[70., 50.], [100., 50.], [100., 70.],
                               [70., 70.]]])
    if kind == 'masks':
        m = torch.zeros(2, *size, dtype=torch.bool)
        m[0, 5:25, 5:30] = True
        m[1, 50:70, 60:100] = True
        return dict(masks=m)
    raise KeyError(kind)


KINDS = ['points', 'boxes', 'scribbles', 'polygons', 'masks']


def test_generic_panoptic_semantic_instance(model):
    inputs, samples = _batch(model, [_sample(), _sample()])
    with torch.no_grad():
        out = model.predict(inputs, samples)
    K = len(THINGS) + len(STUFF)
    for res in out:
        pan = res.pred_panoptic_seg.sem_seg
        assert pan.shape == (1, H, W)
        assert int((pan % 1000).max()) <= K  # K = void
        assert res.pred_sem_seg.data.shape == (1, H, W)
        assert int(res.pred_sem_seg.data.max()) < K
        assert res.seg_logits.data.shape == (K, H, W)
        ins = res.pred_instances
        assert ins.masks.shape[1:] == (H, W)
        assert ins.masks.dtype == torch.bool
        assert (ins.labels < len(THINGS)).all()  # instances are things
        assert ins.bboxes.shape == (len(ins), 4)


def test_outputs_at_original_size_after_resize(model):
    # the pipeline resized a 160x224 image to 80x112
    inputs, samples = _batch(model, [_sample(ori=(160, 224))])
    with torch.no_grad():
        res = model.predict(inputs, samples)[0]
    assert res.pred_sem_seg.data.shape == (1, 160, 224)
    assert res.pred_panoptic_seg.sem_seg.shape == (1, 160, 224)


def test_open_vocabulary_changes_classes(model):
    inputs, samples = _batch(model, [_sample()])
    model.set_vocabulary(['a red thing', 'a blue thing'])
    try:
        with torch.no_grad():
            res = model.predict(inputs, samples)[0]
        assert res.seg_logits.data.shape[0] == 2
    finally:
        model.set_vocabulary(THINGS, STUFF)


def test_bad_vocabulary(model):
    with pytest.raises(ValueError, match='Empty vocabulary'):
        model.set_vocabulary([])
    with pytest.raises(ValueError, match='non-empty str'):
        model.set_vocabulary(['dog', ''])
    fresh = MODELS.build(Config.fromfile(str(CFG)).model).eval()
    inputs, samples = _batch(fresh, [_sample()])
    with pytest.raises(ValueError, match='no vocabulary'):
        fresh.predict(inputs, samples)


def test_referring_one_mask_per_sentence(model):
    texts = ['the small red triangle left of the blue circle',
             'the largest square']
    inputs, samples = _batch(model, [_sample(text=texts)])
    with torch.no_grad():
        res = model.predict(inputs, samples)[0]
    assert res.pred_instances.masks.shape == (2, H, W)
    assert res.pred_instances.texts == texts
    assert ((res.pred_instances.scores >= 0) &
            (res.pred_instances.scores <= 1)).all()


def test_referring_empty_text(model):
    inputs, samples = _batch(model, [_sample(text=[])])
    with pytest.raises(ValueError, match='non-empty'):
        model.predict(inputs, samples)


@pytest.mark.parametrize('kind', KINDS)
def test_interactive_each_prompt_type(model, kind):
    vp = VisualPrompts.build((H, W), **_prompts(kind))
    inputs, samples = _batch(model, [_sample(visual_prompts=vp)])
    with torch.no_grad():
        res = model.predict(inputs, samples)[0].pred_instances
    assert res.masks.shape == (len(vp), H, W)
    assert res.prev_mask.shape[0] == len(vp)
    assert ((res.labels >= 0) & (res.labels < 5)).all()  # semantic label
    assert torch.isfinite(res.mask_logits).all()


@pytest.mark.parametrize('a,b', list(itertools.combinations(KINDS, 2)))
def test_interactive_every_pair_of_prompt_types(model, a, b):
    kwargs = dict(_prompts(a))
    kwargs.update(_prompts(b))
    vp = VisualPrompts.build((H, W), **kwargs)
    assert len(vp) == 2
    inputs, samples = _batch(model, [_sample(visual_prompts=vp)])
    with torch.no_grad():
        res = model.predict(inputs, samples)[0].pred_instances
    assert res.masks.shape == (2, H, W)


def test_interactive_with_text(model):
    vp = VisualPrompts.build((H, W), **_prompts('boxes'))
    inputs, samples = _batch(
        model, [_sample(visual_prompts=vp, text='the red circle')])
    with torch.no_grad():
        res = model.predict(inputs, samples)[0].pred_instances
    assert res.masks.shape == (2, H, W)


def test_interactive_rounds_reuse_features_and_memory(model):
    vp = VisualPrompts.build((H, W), **_prompts('points'))
    inputs, samples = _batch(model, [_sample(visual_prompts=vp)])
    calls = {'n': 0}
    orig = model.backbone.forward

    def counting(*a, **k):
        calls['n'] += 1
        return orig(*a, **k)

    model.backbone.forward = counting
    try:
        with torch.no_grad():
            feats = model.extract_feat(inputs)
            snapshot = feats['mask_features'].clone()
            r1 = model.predict_prompts(feats, samples)[0].pred_instances
            # round 2: a corrective click + memory of round 1
            vp2 = VisualPrompts.build(
                (H, W), points=[[[30., 20.], [40., 25.], [35., 22.]],
                                [[80., 60.]]],
                point_labels=[[1, 0, 1], [1]])
            s2 = _sample(visual_prompts=vp2, prev_mask=r1.prev_mask)
            s2.set_metainfo(samples[0].metainfo)
            r2 = model.predict_prompts(feats, [s2])[0].pred_instances
            s3 = _sample(visual_prompts=vp2)
            s3.set_metainfo(samples[0].metainfo)
            r3 = model.predict_prompts(feats, [s3])[0].pred_instances
    finally:
        del model.backbone.forward
    assert calls['n'] == 1  # image features computed once for 3 rounds
    assert torch.equal(snapshot, feats['mask_features'])
    assert r2.masks.shape == r1.masks.shape
    # memory prompts change the answer (same clicks with / without memory)
    assert not torch.allclose(r2.mask_logits, r3.mask_logits)


def test_same_seed_same_output_different_seed_differs(model):
    vp = VisualPrompts.build((H, W), **_prompts('masks'))

    def run(seed):
        model.test_cfg['seed'] = seed
        inputs, samples = _batch(model, [_sample(visual_prompts=vp)])
        with torch.no_grad():
            return model.predict(inputs, samples)[0].pred_instances

    try:
        a, b, c = run(0), run(0), run(1)
    finally:
        model.test_cfg['seed'] = 0
    assert torch.equal(a.mask_logits, b.mask_logits)
    assert not torch.equal(a.mask_logits, c.mask_logits)


def test_visual_referring_from_reference_image(model):
    ref = _image(5)
    ref_in, _ = _batch(model, [_sample()], [ref])
    vp = VisualPrompts.build(tuple(ref_in.shape[-2:]), **_prompts('masks',
                             size=tuple(ref_in.shape[-2:])))
    inputs, samples = _batch(model, [_sample(), _sample()])
    with torch.no_grad():
        out = model.predict_refimg(ref_in, vp, inputs, samples)
    for res in out:
        assert res.pred_instances.masks.shape == (2, H, W)


def test_cached_reference_tokens_give_the_same_masks(model):
    """Video propagation encodes the reference once (encode_refimg) and
    reuses it per frame: identical logits to an uncached call."""
    ref_in, _ = _batch(model, [_sample()], [_image(5)])
    vp = VisualPrompts.build(tuple(ref_in.shape[-2:]), **_prompts('masks',
                             size=tuple(ref_in.shape[-2:])))
    inputs, samples = _batch(model, [_sample()])
    inputs2, samples2 = _batch(model, [_sample()])
    with torch.no_grad():
        a = model.predict_refimg(ref_in, vp, inputs, samples)[0]
        tokens = model.encode_refimg(ref_in, vp)
        b = model.predict_refimg(None, None, inputs2, samples2,
                                 ref_tokens=tokens)[0]
    assert a.pred_instances.masks.any()
    assert torch.equal(a.pred_instances.masks, b.pred_instances.masks)
    assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)


def test_mixed_batch_is_rejected(model):
    vp = VisualPrompts.build((H, W), **_prompts('boxes'))
    inputs, samples = _batch(model, [_sample(visual_prompts=vp), _sample()])
    with pytest.raises(ValueError, match='separate batches'):
        model.predict(inputs, samples)


def test_loss_without_criterion_is_explicit(model):
    inputs, samples = _batch(model, [_sample()])
    with pytest.raises(NotImplementedError, match='criterion'):
        model.loss(inputs, samples)


def test_tensor_mode_gives_raw_outputs(model):
    inputs, samples = _batch(model, [_sample()])
    with torch.no_grad():
        out = model(inputs, samples, mode='tensor')
    assert out['pred_logits'].shape[:2] == (1, 7)
    assert out['pred_logits'].shape[-1] == len(THINGS) + len(STUFF) + 1
    assert len(out['aux_outputs']) == 3
