"""Click protocols and the interactive session driver on crafted masks."""
import numpy as np
import pytest
import torch

from mmseem.evaluation.functional import (Click, cascaded_distance_transform,
                                          clicks_to_masks,
                                          exact_distance_transform, mask_iou,
                                          run_interactive_session,
                                          seem_next_click,
                                          standard_next_click,
                                          wrap_point_predictor)

H = W = 20


def _box(y0, y1, x0, x1, shape=(H, W)):
    m = np.zeros(shape, bool)
    m[y0:y1 + 1, x0:x1 + 1] = True
    return m


# GT: rows 2..9, cols 1..18. The "shallow but large" FN strip (rows 8..9,
# 36 px, depth 1) vs a "deep but small" FP block (5x5 = 25 px, depth 3).
GT = _box(2, 9, 1, 18)
PRED2 = _box(2, 7, 1, 18) | _box(13, 17, 7, 11)


def test_exact_dt_counts_image_border_as_boundary():
    region = np.zeros((6, 6), bool)
    region[3:, :] = True  # touches left, right and bottom borders
    dt = exact_distance_transform(region)
    assert dt[5, 0] == 1  # corner pixel: 1 from the (padded) border
    assert dt.max() == 2  # without padding it would be 3 (to row 2)
    assert dt[0].sum() == 0


def test_standard_first_and_second_click():
    not_clicked = np.ones_like(GT)
    c1 = standard_next_click(GT, np.zeros_like(GT), not_clicked)
    # max EDT = 4 at rows 5 (min(y-1, 10-y)) and cols 4..15: first is (5, 4)
    assert c1 == Click(5, 4, True)
    not_clicked[c1.y, c1.x] = False
    c2 = standard_next_click(GT, PRED2, not_clicked)
    # FP block is deeper (3 > 1): negative click at its centre
    assert c2 == Click(15, 9, False)


def test_standard_border_padding_moves_negative_click():
    pred = GT | _box(14, 19, 0, 19)  # FP band on the bottom border
    c = standard_next_click(GT, pred, np.ones_like(GT))
    # band rows 14..19: with the border as boundary, depth 3 at rows 16-17
    assert c == Click(16, 2, False)


def test_seem_clicks_use_area_polarity():
    c1 = seem_next_click(GT[None])[0]
    assert c1.is_positive and GT[c1.y, c1.x]
    # kornia-0.7.0-style approximate DT: one column further in than the
    # exact-DT click (5, 4) of the standard protocol
    assert (c1.y, c1.x) == (5, 5)
    clicked = np.stack([np.logical_or(*clicks_to_masks([c1], (H, W), 1))])
    c2 = seem_next_click(GT[None], PRED2[None], clicked)[0]
    # |FN| = 36 > |FP| = 25: positive, in the FN strip (rows 8..9), first
    # column not touching the strip's end: (8, 2)
    assert c2 == Click(8, 2, True)


def test_cascaded_dt_approximates_exact_dt():
    region = _box(2, 8, 3, 13, (12, 16))
    approx = cascaded_distance_transform(torch.from_numpy(region[None]))[0]
    exact = exact_distance_transform(region)
    assert (approx.numpy()[~region] == 0).all()
    assert (approx.numpy()[region] > 0).all()
    # same ordering of depth along the central row
    row = approx.numpy()[5, 3:14]
    assert np.argmax(row) in (3, 4, 5, 6, 7)
    assert exact.max() == 4 and approx.max() > 4  # kornia 0.7.0 offsets
    with pytest.raises(ValueError):
        cascaded_distance_transform(torch.zeros(4, 4, dtype=torch.bool))


def test_clicks_to_masks_squares_are_clipped():
    pos, neg = clicks_to_masks([Click(0, 0, True), Click(5, 5, False)],
                               (8, 8), radius=1)
    assert pos.sum() == 4 and neg.sum() == 9 and neg[4:7, 4:7].all()


@pytest.mark.parametrize('protocol,stop_iou', [('standard', 0.95),
                                               ('seem', None)])
def test_perfect_predictor_stops_after_one_click(protocol, stop_iou):
    gt = np.stack([GT, _box(13, 17, 3, 8)])
    calls = []

    def predict_fn(clicks, prev):
        calls.append([len(c) for c in clicks])
        return gt.copy()

    out = run_interactive_session(predict_fn, gt, protocol, max_clicks=5,
                                  stop_iou=stop_iou)
    assert calls == [[1, 1]]
    assert out['ious'].shape == (2, 5) and (out['ious'] == 1).all()
    assert out['num_clicks'].tolist() == [1, 1]


@pytest.mark.parametrize('protocol', ['standard', 'seem'])
def test_useless_predictor_runs_all_clicks(protocol):
    out = run_interactive_session(lambda c, p: np.zeros_like(p), GT,
                                  protocol, max_clicks=4)
    assert (out['ious'] == 0).all() and out['num_clicks'].tolist() == [4]


def test_standard_session_click_sequence_and_prev_masks():
    seen_prev = []

    def predict_fn(clicks, prev):
        seen_prev.append(prev[0].copy())
        return PRED2[None] if len(clicks[0]) == 1 else GT[None]

    out = run_interactive_session(predict_fn, GT, 'standard', max_clicks=20,
                                  stop_iou=0.95)
    assert out['clicks'][0] == [Click(5, 4, True), Click(15, 9, False)]
    assert not seen_prev[0].any() and (seen_prev[1] == PRED2).all()
    np.testing.assert_allclose(out['ious'][0, :2],
                               [mask_iou(GT[None], PRED2[None])[0], 1.0])
    assert (out['ious'][0, 2:] == 1).all()  # carried forward


def test_standard_clicks_on_to_max_clicks_by_default():
    """Issue 9: RITM / SimpleClick keep clicking to max_clicks for mIoU@k
    (target_iou = 1.01); the old session stopped at IoU >= 0.95 and carried
    0.96 forward."""
    near = GT.copy()
    near[2, 1:7] = False  # IoU 138 / 144 = 0.958 >= 0.95

    def predict_fn(clicks, prev):
        return (near if len(clicks[0]) < 3 else GT)[None]

    out = run_interactive_session(predict_fn, GT, 'standard', max_clicks=5)
    assert out['num_clicks'].tolist() == [5]
    np.testing.assert_allclose(out['ious'][0],
                               [138 / 144] * 2 + [1] * 3, rtol=1e-6)
    # a NoC run may stop: same first click above 0.95, IoU carried forward
    out = run_interactive_session(predict_fn, GT, 'standard', max_clicks=5,
                                  stop_iou=0.95)
    assert out['num_clicks'].tolist() == [1]
    np.testing.assert_allclose(out['ious'][0], [138 / 144] * 5, rtol=1e-6)


@pytest.mark.parametrize('protocol,prob,iou', [('standard', 0.495, 1.0),
                                               ('seem', 0.495, 0.0),
                                               ('seem', 0.5, 0.0),
                                               ('seem', 0.501, 1.0)])
def test_probability_threshold_of_each_protocol(protocol, prob, iou):
    """Issue 9: RITM thresholds probabilities at > 0.49 (pred_thr), SEEM
    at sigmoid > 0.5; the old session used > 0.5 for both."""
    probs = GT.astype(np.float32)[None] * prob
    out = run_interactive_session(lambda c, p: probs, GT, protocol,
                                  max_clicks=2)
    np.testing.assert_allclose(out['ious'][0], iou)
    out = run_interactive_session(lambda c, p: probs, GT, protocol,
                                  max_clicks=1, prob_thr=0.6)
    assert out['ious'][0, 0] == 0


def test_ious_float32_and_seem_gate_at_exact_0_925():
    """Issue 9: compare in the precision the IoU is computed in. SEEM's
    torch IoU is float32: 37 / 40 is float32(0.925), not < 0.925, so the
    object gets no further click (float64 37 / (40 + 1e-8) < 0.925 did)."""
    a, b = _box(0, 3, 0, 9), _box(10, 13, 0, 9)  # 40 px each
    a_pred = a.copy()
    a_pred[3, 7:] = False  # IoU 37 / 40
    gt = np.stack([a, b])
    out = run_interactive_session(
        lambda c, p: np.stack([a_pred, np.zeros_like(b)]), gt, 'seem',
        max_clicks=4)
    assert out['ious'].dtype == np.float32
    assert out['ious'][0, 0] == np.float32(0.925)
    assert out['num_clicks'].tolist() == [1, 4]


def test_seem_stops_only_when_all_objects_pass_0_9():
    a, b = _box(2, 6, 2, 6), _box(10, 14, 10, 14)  # 25 px each
    gt = np.stack([a, b])
    b_partial = b.copy()
    b_partial[10, 10:13] = False  # IoU 22/25 = 0.88 < 0.9

    def predict_fn(clicks, prev):
        # object 1 only becomes perfect after its 3rd click
        return np.stack([a, b if len(clicks[1]) >= 3 else b_partial])

    out = run_interactive_session(predict_fn, gt, 'seem', max_clicks=6)
    np.testing.assert_allclose(out['ious'][1], [0.88, 0.88, 1, 1, 1, 1])
    # object 0 reached IoU 1 >= 0.925 at once: no further clicks
    assert out['num_clicks'].tolist() == [1, 3]


def test_seem_iou_exactly_0_9_does_not_stop():
    gt = _box(0, 0, 0, 9, (4, 12))  # 10 px
    pred = gt.copy()
    pred[0, 9] = False  # IoU 0.9 exactly: not > 0.9, and < 0.925 -> click
    out = run_interactive_session(lambda c, p: pred[None], gt, 'seem',
                                  max_clicks=3)
    assert out['num_clicks'].tolist() == [3]
    np.testing.assert_allclose(out['ious'][0], 0.9)


def test_seem_ignore_label_220_excluded_from_iou():
    inst = np.zeros((H, W), np.int64)
    inst[4:12, 4:12] = 1
    inst[3, 3:13] = 220  # VOC-style ignore border
    inst[12, 3:13] = 220
    gt, ignore = inst == 1, inst == 220
    pred = gt | ignore  # 20 extra px over ignore -> IoU 64/84 if counted
    out = run_interactive_session(lambda c, p: pred[None], gt, 'seem',
                                  max_clicks=5, ignore_mask=ignore)
    assert (out['ious'] == 1).all() and out['num_clicks'].tolist() == [1]
    out = run_interactive_session(lambda c, p: pred[None], gt, 'seem',
                                  max_clicks=2)
    np.testing.assert_allclose(out['ious'][0], 64 / 84)


def test_wrap_point_predictor_passes_xy_points():
    got = []

    def predict(points, labels):
        got.append((points.copy(), labels.copy()))
        return GT.astype(np.float32)

    out = run_interactive_session(wrap_point_predictor(predict), GT,
                                  'standard', max_clicks=3)
    assert out['ious'][0, 0] == 1
    np.testing.assert_array_equal(got[0][0], [[4, 5]])  # (x, y)
    np.testing.assert_array_equal(got[0][1], [1])


def test_bad_inputs():
    with pytest.raises(ValueError, match='protocol'):
        run_interactive_session(lambda c, p: p, GT, 'ritm')
    with pytest.raises(ValueError, match='shape'):
        run_interactive_session(lambda c, p: p[:, :5], GT, 'standard')
    with pytest.raises(ValueError, match='stop_iou'):
        run_interactive_session(lambda c, p: p, GT, 'seem', stop_iou=0.8)
    with pytest.raises(ValueError, match='stop_iou'):
        run_interactive_session(lambda c, p: p, GT, 'standard', stop_iou=2)
    with pytest.raises(ValueError, match='prob_thr'):
        run_interactive_session(lambda c, p: p, GT, 'standard', prob_thr=1)
