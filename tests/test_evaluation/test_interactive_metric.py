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


@pytest.mark.parametrize('thr', [0.9, 0.95])
def test_float32_iou_exactly_at_target_reaches_it(thr):
    """Issue 9: the interactive loop stores float32 IoUs (as RITM and SEEM
    do) and float32(0.9) < 0.9 in float64: compare in float32, where an
    IoU of exactly 0.9 (or 0.95) reaches the target, as in RITM's
    ``iou_arr >= iou_thr`` on its float32 arrays."""
    ious = np.array([[0.5, thr, thr]], dtype=np.float32)
    assert float(ious[0, 1]) < thr  # the trap
    res = _evaluate(InteractiveMetric(max_clicks=3), [ious])
    assert res[f'NoC@{int(thr * 100)}'] == 2
    assert res['NoF@90'] == 0
    # float64 IoUs are compared in float64
    res = _evaluate(InteractiveMetric(max_clicks=3),
                    [ious.astype(np.float64)])
    assert res[f'NoC@{int(thr * 100)}'] == 3


def test_session_iou_9_of_10_counts_for_noc_90():
    gt = np.zeros((1, 4, 12), bool)
    gt[0, 0, :10] = True
    pred = gt.copy()
    pred[0, 0, 9] = False  # IoU 9 / 10
    out = run_interactive_session(lambda c, p: pred, gt, 'standard',
                                  max_clicks=2)
    res = _evaluate(InteractiveMetric(max_clicks=2), [out['ious']])
    assert res['NoC@90'] == 1 and res['NoF@90'] == 0


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
