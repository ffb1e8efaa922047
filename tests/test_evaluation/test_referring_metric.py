"""ReferringMetric: cIoU vs mIoU vs Prec@k on a crafted case."""
import numpy as np
import pytest
import torch
from mmdet.structures.mask import BitmapMasks

from mmseem.evaluation.metrics import ReferringMetric
from mmseem.registry import METRICS


def _sample(pred, gt, bitmap=True):
    gt = BitmapMasks(gt[None].astype(np.uint8), *gt.shape) if bitmap \
        else torch.from_numpy(gt[None])
    return dict(
        pred_instances=dict(masks=torch.from_numpy(pred[None])), gt_masks=gt)


def test_ciou_and_miou_differ_on_crafted_case():
    big = np.zeros((20, 20), bool)
    big[:10, :10] = True  # 100 px, predicted perfectly: IoU 1
    small = np.zeros((20, 20), bool)
    small[0, :4] = True  # 4 px, missed entirely: IoU 0
    half = np.zeros((20, 20), bool)
    half[:10, :5] = True  # 50 of the 100 px: IoU 0.5
    metric = METRICS.build(dict(type='ReferringMetric'))
    assert isinstance(metric, ReferringMetric)
    metric.process({}, [
        _sample(big, big),
        _sample(np.zeros_like(small), small, bitmap=False),
        _sample(half.astype(np.float32), big),  # probabilities > 0.5
    ])
    res = metric.compute_metrics(metric.results)
    # cIoU = (100 + 0 + 50) / (100 + 4 + 100); mIoU = (1 + 0 + 0.5) / 3
    assert res['cIoU'] == pytest.approx(150 / 204 * 100)
    assert res['mIoU'] == pytest.approx(1.5 / 3 * 100)
    assert res['Prec@0.5'] == pytest.approx(200 / 3)
    assert res['Prec@0.6'] == pytest.approx(100 / 3)
    assert res['Prec@0.9'] == pytest.approx(100 / 3)


def test_shape_mismatch_raises():
    metric = ReferringMetric()
    with pytest.raises(ValueError, match='resize'):
        metric.process({}, [_sample(np.zeros((4, 4), bool),
                                    np.zeros((5, 5), bool))])
