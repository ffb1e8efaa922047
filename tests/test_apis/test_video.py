"""DAVIS propagation with SEEM's visual referring (first-frame reference)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmseem.apis.video import (VideoPropagator, id_map_to_masks,
                               propagate_video)
from mmseem.evaluation.metrics import VOSMetric

DAVIS = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
                 'davis_car_shadow')
needs_davis = pytest.mark.skipif(
    not osp.isdir(DAVIS),
    reason=f'DAVIS sample not found at {DAVIS} (only next to the team '
    'checkout)')
SIZE = (96, 54)  # (w, h): 854x480 frames at ~1/9


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


@needs_davis
def test_propagate_three_frames_and_jf(tiny_model):
    from mmseem.datasets.davis import read_davis_annotation
    frames, gts = [], []
    for i in range(3):
        img = cv2.imread(osp.join(DAVIS, 'JPEGImages', f'{i:05d}.jpg'))
        frames.append(cv2.resize(img, SIZE, interpolation=cv2.INTER_AREA))
        ann = read_davis_annotation(
            osp.join(DAVIS, 'Annotations', f'{i:05d}.png'))
        gts.append(cv2.resize(ann.astype(np.uint8), SIZE,
                              interpolation=cv2.INTER_NEAREST))
    out = propagate_video(tiny_model, frames, gts[0], reference='first')
    assert len(out) == 3
    assert all(o.shape == (1, SIZE[1], SIZE[0]) and o.dtype == torch.bool
               for o in out)
    assert torch.equal(out[0], torch.from_numpy(gts[0] == 1)[None])
    metric = VOSMetric()
    metric.process({}, [
        dict(seq_name='car-shadow', frame_idx=i, num_frames=3,
             pred_masks=o, gt_id_map=g) for i, (o, g) in enumerate(
                 zip(out, gts))
    ])
    res = metric.compute_metrics(metric.results)
    for key in ('J-mean', 'F-mean', 'J&F'):
        assert 0 <= res[key] <= 100
    assert res['J&F'] == pytest.approx((res['J-mean'] + res['F-mean']) / 2)


@needs_davis
def test_video_test_loop_on_davis_sample(tiny_model, repo_root, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(repo_root / 'configs/seem/seem_tiny_davis.py'))
    cfg.test_dataloader.dataset.data_root = DAVIS
    cfg.test_dataloader.dataset.indices = 3
    cfg.test_dataloader.dataset.pipeline[1].scale = SIZE
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'test_video_test_loop'
    cfg.visualizer.name = 'test_video_test_loop'
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    assert 0 <= metrics['vos/J&F'] <= 100
    assert 'vos/davis_car_shadow/J&F' in metrics


class FakeRefSEEM:
    """``predict_refimg`` returning the reference masks (at ori size)."""

    def __init__(self):
        self.refs = []

    def predict_refimg(self, ref_inputs, ref_prompts, inputs, samples):
        self.refs.append((ref_inputs, ref_prompts.pos_masks.clone()))
        res = InstanceData()
        res.masks = ref_prompts.pos_masks.clone()
        samples[0].pred_instances = res
        return samples


def _frame(idx, value):
    s = DetDataSample(metainfo=dict(
        seq_name='s', frame_idx=idx, num_frames=4, img_shape=(8, 8),
        ori_shape=(8, 8)))
    return torch.full((1, 3, 8, 8), float(value)), s


def test_previous_reference_and_fallback():
    model = FakeRefSEEM()
    prop = VideoPropagator(model, reference='previous', load_gt=False)
    masks = np.zeros((2, 8, 8), bool)
    masks[0, :4, :4] = True
    masks[1, 4:, 4:] = True
    x0, s0 = _frame(0, 0)
    prop.set_reference(x0, s0, masks=masks)
    x1, s1 = _frame(1, 1)
    prop.predict_frame(x1, s1)
    assert s1.pred_masks.shape == (2, 8, 8)
    assert torch.equal(s1.pred_masks, torch.from_numpy(masks))
    assert model.refs[0][0] is x0  # first frame is the reference at t=1
    x2, s2 = _frame(2, 2)
    prop.predict_frame(x2, s2)
    assert model.refs[1][0] is x1  # then the previous frame
    # an object lost in the previous prediction -> back to the first frame
    prop.previous = (x2, masks & np.array([True, False])[:, None, None])
    x3, s3 = _frame(3, 3)
    prop.predict_frame(x3, s3)
    assert model.refs[2][0] is x0


def test_first_reference_and_absent_object():
    model = FakeRefSEEM()
    prop = VideoPropagator(model, reference='first', load_gt=False)
    x0, s0 = _frame(0, 0)
    id_map = np.zeros((8, 8), np.int64)
    id_map[:3, :3] = 2  # object 1 absent from the reference frame
    prop.set_reference(x0, s0, masks=id_map_to_masks(id_map, 2))
    x1, s1 = _frame(1, 1)
    prop.predict_frame(x1, s1)
    assert len(model.refs[0][1]) == 1  # only the present object is prompted
    assert not s1.pred_masks[0].any() and s1.pred_masks[1].sum() == 9


def test_errors():
    with pytest.raises(ValueError, match='reference'):
        VideoPropagator(FakeRefSEEM(), reference='last')
    with pytest.raises(TypeError, match='predict_refimg'):
        VideoPropagator(object())
    prop = VideoPropagator(FakeRefSEEM(), load_gt=False)
    x1, s1 = _frame(1, 1)
    with pytest.raises(RuntimeError, match='without its first frame'):
        prop(x1, [s1])
