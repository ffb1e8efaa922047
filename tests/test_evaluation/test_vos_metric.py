"""VOSMetric: J / F / J&F aggregation over frames, objects and sequences."""
import numpy as np
import pytest
import torch

from mmseem.evaluation.metrics import VOSMetric
from mmseem.registry import METRICS


def _frame(seq, idx, n, pred, gt, **kw):
    return dict(seq_name=seq, frame_idx=idx, num_frames=n, pred_masks=pred,
                gt_masks=gt, **kw)


def _square(y0, x0, side=10, size=32):
    m = np.zeros((size, size), bool)
    m[y0:y0 + side, x0:x0 + side] = True
    return m


def test_first_and_last_frames_are_excluded():
    gt = _square(5, 5)[None]
    wrong = _square(20, 20)[None]
    metric = METRICS.build(dict(type='VOSMetric'))
    assert isinstance(metric, VOSMetric)
    metric.process({}, [
        _frame('a', 0, 4, wrong, gt),
        _frame('a', 1, 4, gt, gt),
        _frame('a', 2, 4, torch.from_numpy(gt), gt),
        _frame('a', 3, 4, wrong, gt),
    ])
    res = metric.compute_metrics(metric.results)
    assert res['J-mean'] == 100 and res['F-mean'] == 100
    assert res['J&F'] == 100 and res['a/J&F'] == 100
    metric = VOSMetric(exclude_first_last=False, per_sequence=False)
    metric.process({}, [
        _frame('a', i, 4, wrong if i in (0, 3) else gt, gt) for i in range(4)
    ])
    res = metric.compute_metrics(metric.results)
    assert res['J-mean'] == pytest.approx(50) and 'a/J&F' not in res


def test_means_over_objects_and_id_maps_with_void():
    # sequence b: 2 objects; object 1 perfect, object 2 missed -> J = 0.5
    ids = np.zeros((32, 32), np.int64)
    ids[_square(2, 2)] = 1
    ids[_square(18, 18)] = 2
    ids[0, :] = 255  # void row
    pred = ids.copy()
    pred[pred == 2] = 0
    pred[0, :] = 1  # prediction on void pixels is not penalized
    samples = [
        dict(seq_name='b', frame_idx=i, num_frames=3, num_objects=2,
             pred_sem_seg=dict(data=torch.from_numpy(pred[None])),
             gt_sem_seg=dict(data=torch.from_numpy(ids[None])))
        for i in range(3)
    ]
    metric = VOSMetric()
    metric.process({}, samples)
    res = metric.compute_metrics(metric.results)
    assert res['b/J-mean'] == pytest.approx(50)
    assert res['b/F-mean'] == pytest.approx(50)
    assert res['J&F'] == pytest.approx(50)


def test_missing_keys_raise():
    metric = VOSMetric()
    with pytest.raises(KeyError, match='seq_name'):
        metric.process({}, [dict(pred_masks=np.zeros((1, 4, 4)))])
