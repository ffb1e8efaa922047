"""Interactive click evaluation of SEEM on cached features."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

from mmseem.evaluation.metrics import InteractiveMetric
from mmseem.evaluation.interactive_session import (
    gt_object_masks, run_interactive_evaluation)

H0, W0 = 48, 60  # original size: GT, clicks and IoU live here
H, W = 64, 80  # network input size (img_shape)


def _gt(n=2):
    m = np.zeros((n, H0, W0), np.uint8)
    boxes = [(5, 20, 5, 30), (25, 45, 30, 58), (2, 10, 40, 58),
             (30, 46, 2, 20), (12, 22, 35, 45), (40, 47, 22, 28)]
    for i in range(n):
        y0, y1, x0, x1 = boxes[i]
        m[i, y0:y1, x0:x1] = 1
    return m


def _sample(n=2):
    ds = DetDataSample(
        metainfo=dict(img_shape=(H, W), ori_shape=(H0, W0),
                      scale_factor=(W / W0, H / H0)))
    gi = InstanceData()
    gi.masks = BitmapMasks(_gt(n), H0, W0)
    ds.gt_instances = gi
    return ds


@pytest.fixture(scope='module')
def tiny_model(repo_root):
    from mmengine.config import Config

    from mmseem.registry import MODELS
    from mmseem.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    cfg = Config.fromfile(
        str(repo_root / 'configs/seem/seem_tiny_synthetic-panoptic.py'))
    return MODELS.build(cfg.model).eval()


class FakeSEEM:
    """``predict_prompts`` that answers each prompt with the GT object under
    its positive click; with ``lag=True`` it answers empty masks until the
    memory prompt (``prev_mask``) is passed back."""

    def __init__(self, gt, lag=False, prob=None):
        self.gt = torch.from_numpy(gt.astype(bool))
        self.lag = lag
        self.prob = prob  # also answer mask_logits = logit(prob) on masks
        self.calls = []
        self.test_cfg = dict(mask_threshold=0.0)

    def predict_prompts(self, feats, samples):
        sample = samples[0]
        vp = sample.visual_prompts
        assert tuple(vp.image_size) == (H0, W0)
        has_prev = 'prev_mask' in sample
        self.calls.append(dict(num_prompts=len(vp), has_prev=has_prev))
        masks = []
        for pos in vp.pos_masks:
            hit = (self.gt & pos[None]).flatten(1).any(1)
            mask = self.gt[int(hit.float().argmax())] if hit.any() else \
                torch.zeros(H0, W0, dtype=torch.bool)
            if self.lag and not has_prev:
                mask = torch.zeros_like(mask)
            masks.append(mask)
        res = InstanceData()
        res.masks = torch.stack(masks)
        if self.prob is not None:
            logit = float(np.log(self.prob / (1 - self.prob)))
            res.mask_logits = torch.where(res.masks, logit, -10.)
            res.masks = res.mask_logits > self.test_cfg['mask_threshold']
        res.prev_mask = torch.zeros(len(masks), 4, 4)
        sample.pred_instances = res
        return [sample]


def _feats(bs=1):
    return dict(mask_features=torch.zeros(bs, 2, 4, 4),
                multi_scale_features=[torch.zeros(bs, 2, 2, 2)],
                input_shape=(H, W))


@pytest.mark.parametrize('protocol', ['seem', 'standard'])
def test_tiny_model_ious(tiny_model, protocol):
    model = tiny_model
    img = torch.randint(0, 255, (3, H, W), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[_sample()]), False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
    sample = run_interactive_evaluation(
        model, feats, data['data_samples'][0], protocol=protocol,
        max_clicks=3)
    ious = sample.interactive_ious
    assert ious.shape == (2, 3)
    assert np.all((ious >= 0) & (ious <= 1))
    assert all(1 <= n <= 3 for n in sample.interactive_num_clicks)
    metric = InteractiveMetric(protocol=protocol, max_clicks=3)
    metric.process({}, [sample.to_dict()])
    res = metric.compute_metrics(metric.results)
    assert res['num_objects'] == 2
    assert 1 <= res['NoC@85'] <= 3
    assert res['mIoU@1'] == pytest.approx(ious[:, 0].mean() * 100)


@pytest.mark.parametrize('protocol,stop_iou', [('seem', None),
                                               ('standard', 0.95)])
def test_perfect_predictor_reaches_iou_1_at_first_click(protocol, stop_iou):
    model = FakeSEEM(_gt(2))
    sample = run_interactive_evaluation(
        model, _feats(), _sample(2), protocol=protocol, max_clicks=3,
        stop_iou=stop_iou)
    np.testing.assert_allclose(sample.interactive_ious, 1.0)
    # one round per session: seem = 1 joint session, standard = 1 per object
    assert len(model.calls) == (1 if protocol == 'seem' else 2)
    assert list(sample.interactive_num_clicks) == [1, 1]


def test_standard_protocol_clicks_to_max_clicks_by_default():
    """Issue 9: without stop_iou every object gets max_clicks clicks (the
    RITM / SimpleClick mIoU@k runs); the old default stopped at 0.95."""
    model = FakeSEEM(_gt(2))
    sample = run_interactive_evaluation(
        model, _feats(), _sample(2), protocol='standard', max_clicks=3)
    np.testing.assert_allclose(sample.interactive_ious, 1.0)
    assert len(model.calls) == 6  # 3 rounds for each of the 2 objects
    assert list(sample.interactive_num_clicks) == [3, 3]


@pytest.mark.parametrize('protocol,iou', [('standard', 1.0), ('seem', 0.0)])
def test_probability_threshold_of_each_protocol(protocol, iou):
    """Issue 9: the standard protocol keeps sigmoid(logits) > 0.49 (RITM's
    pred_thr), SEEM's keeps the model's logits > 0; the object's logits
    here are logit(0.495) < 0. The old session used logits > 0 for
    both."""
    model = FakeSEEM(_gt(2), prob=0.495)
    sample = run_interactive_evaluation(
        model, _feats(), _sample(2), protocol=protocol, max_clicks=2)
    np.testing.assert_allclose(sample.interactive_ious, iou)


def test_memory_prompt_is_passed_back():
    model = FakeSEEM(_gt(2), lag=True)
    sample = run_interactive_evaluation(
        model, _feats(), _sample(2), protocol='seem', max_clicks=3)
    np.testing.assert_allclose(sample.interactive_ious[:, 0], 0.0)
    np.testing.assert_allclose(sample.interactive_ious[:, 1:], 1.0)
    assert [c['has_prev'] for c in model.calls] == [False, True]


def test_seem_groups_of_five_and_batch_index():
    model = FakeSEEM(_gt(6))
    sample = run_interactive_evaluation(
        model, _feats(bs=2), _sample(6), protocol='seem', max_clicks=2,
        batch_idx=1)
    assert sample.interactive_ious.shape == (6, 2)
    assert [c['num_prompts'] for c in model.calls] == [5, 1]


def test_errors():
    model = FakeSEEM(_gt(2))
    with pytest.raises(ValueError, match='protocol'):
        run_interactive_evaluation(model, _feats(), _sample(), 'ritm')
    with pytest.raises(ValueError, match='batch_idx'):
        run_interactive_evaluation(model, _feats(bs=2), _sample())
    bare = DetDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H0, W0)))
    with pytest.raises(ValueError, match='gt_instances.masks'):
        gt_object_masks(bare)
    with pytest.raises(TypeError, match='predict_prompts'):
        run_interactive_evaluation(object(), _feats(), _sample())
    odd = _sample()
    odd.set_metainfo(dict(ori_shape=(50, 50), img_shape=(64, 64)))
    with pytest.raises(ValueError, match='GT masks have size'):
        run_interactive_evaluation(model, _feats(), odd)


def test_gt_at_img_shape_and_empty_objects(tiny_model):
    """GT loaded before Resize (img_shape): predictions are brought to it;
    empty objects are skipped; no object -> a [0, max_clicks] array."""
    model = tiny_model
    ds = DetDataSample(
        metainfo=dict(img_shape=(H, W), ori_shape=(H0, W0),
                      scale_factor=(W / W0, H / H0)))
    m = np.zeros((2, H, W), np.uint8)
    m[1, 10:40, 20:60] = 1  # object 0 is empty
    gi = InstanceData()
    gi.masks = BitmapMasks(m, H, W)
    ds.gt_instances = gi
    img = torch.zeros((3, H, W), dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[ds]),
                                   False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
    sample = run_interactive_evaluation(model, feats, data['data_samples'][0],
                                        max_clicks=1)
    assert sample.interactive_ious.shape == (1, 1)
    assert 0 <= sample.interactive_ious[0, 0] <= 1
    empty = InstanceData()
    empty.masks = BitmapMasks(np.zeros((0, H, W), np.uint8), H, W)
    sample.gt_instances = empty
    sample = run_interactive_evaluation(model, feats, sample, max_clicks=2)
    assert sample.interactive_ious.shape == (0, 2)


@pytest.mark.parametrize('stop_iou,calls', [(None, 6), (0.95, 2)])
def test_evaluate_clicks_reads_stop_iou_from_test_cfg(stop_iou, calls):
    """``model.test_cfg.stop_iou`` reaches the standard protocol through the
    segmentor's ``interactive_eval`` path (None: click on to max_clicks)."""
    from mmseem.models.segmentors.image_session import evaluate_clicks
    model = FakeSEEM(_gt(2))
    model.test_cfg = dict(mask_threshold=0.0, interactive_protocol='standard',
                          max_clicks=3, stop_iou=stop_iou)
    sample, = evaluate_clicks(model, _feats(), [_sample(2)])
    np.testing.assert_allclose(sample.interactive_ious, 1.0)
    assert len(model.calls) == calls
