"""InteractiveMetric: NoC / NoF / mIoU@k on hand-made IoU curves."""
import numpy as np
import pytest
import torch

from mmseem.evaluation.functional import run_interactive_session
from mmseem.evaluation.metrics import InteractiveMetric
from mmseem.registry import METRICS


def _evaluate(metric, per_sample_ious):
    metric.process({}, [dict(interactive_ious=x) for x in per_sample_ious])
    return metric.compute_metrics(metric.results)


def test_registered():
    m = METRICS.build(dict(type='InteractiveMetric', protocol='seem'))
    assert isinstance(m, InteractiveMetric)


def test_perfect_predictor_noc_is_one():
    gt = np.zeros((1, 16, 16), bool)
    gt[0, 4:10, 3:12] = True
    out = run_interactive_session(lambda c, p: gt, gt, 'standard')
    res = _evaluate(InteractiveMetric(), [out['ious']])
    for thr in ('85', '90', '95'):
        assert res[f'NoC@{thr}'] == 1
    assert res['NoF@85'] == 0 and res['NoF@90'] == 0
    assert res['mIoU@1'] == 100 and res['mIoU@20'] == 100


def test_useless_predictor_noc_is_max_and_nof_is_one():
    gt = np.zeros((1, 16, 16), bool)
    gt[0, 4:10, 3:12] = True
    out = run_interactive_session(lambda c, p: np.zeros_like(p), gt,
                                  'standard')
    res = _evaluate(InteractiveMetric(max_clicks=20), [out['ious']])
    assert res['NoC@85'] == 20 and res['NoC@95'] == 20
    assert res['NoF@85'] == 1 and res['NoF@90'] == 1
    assert res['mIoU@1'] == 0


def test_miou_curve_carries_last_iou_forward():
    metric = InteractiveMetric(max_clicks=5)
    # object A stopped early after 3 clicks, object B ran all 5
    res = _evaluate(metric, [
        [[0.5, 0.7, 0.96]],
        torch.tensor([[0.1, 0.3, 0.86, 0.88, 0.91]]),
    ])
    curve = [res[f'mIoU@{k}'] for k in range(1, 6)]
    np.testing.assert_allclose(curve, [30, 50, 91, 92, 93.5])
    assert res['NoC@85'] == pytest.approx((3 + 3) / 2)
    assert res['NoC@90'] == pytest.approx((3 + 5) / 2)
    assert res['NoC@95'] == pytest.approx((3 + 5) / 2)  # B never: 5
    assert res['NoF@90'] == 0 and res['num_objects'] == 2


def test_nof_rules_differ_on_last_click_success():
    ious = [np.r_[np.zeros(19), 0.95]]  # reaches 0.9 exactly at click 20
    assert _evaluate(InteractiveMetric(), ious)['NoF@90'] == 0
    assert _evaluate(InteractiveMetric(nof_rule='ritm'), ious)['NoF@90'] == 1


def test_seem_defaults_and_object_averaging():
    # one image with 3 objects, one with 1: the mean is over 4 objects
    metric = InteractiveMetric(protocol='seem', max_clicks=3)
    res = _evaluate(metric, [
        np.array([[0.95, 0.95, 0.95], [0.6, 0.82, 0.91], [0.2, 0.4, 0.5]]),
        np.array([0.9, 0.9, 0.9]),
    ])
    assert set(k for k in res if k.startswith('NoC')) == {
        'NoC@50', 'NoC@80', 'NoC@85', 'NoC@90'
    }
    assert res['NoC@90'] == pytest.approx((1 + 3 + 3 + 1) / 4)
    assert res['NoC@50'] == pytest.approx((1 + 1 + 3 + 1) / 4)
    assert res['mIoU@1'] == pytest.approx((0.95 + 0.6 + 0.2 + 0.9) / 4 * 100)


def test_bad_inputs():
    with pytest.raises(ValueError, match='protocol'):
        InteractiveMetric(protocol='ritm')
    with pytest.raises(ValueError, match='nof_rule'):
        InteractiveMetric(nof_rule='x')
    metric = InteractiveMetric()
    with pytest.raises(KeyError, match='interactive_ious'):
        metric.process({}, [dict(other=1)])
    with pytest.raises(ValueError, match='num_clicks'):
        metric.process({}, [dict(interactive_ious=np.zeros((1, 2, 3)))])
