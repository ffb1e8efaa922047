"""The corrective-click rule shared by training and click evaluation."""
import math

import numpy as np
import pytest
import torch

from mmseem.structures.click_rule import (RITM_RULE, SEEM_RULE, Click,
                                          ClickRule,
                                          cascaded_distance_transform,
                                          corrective_click,
                                          exact_distance_transform,
                                          next_clicks, prompt_iou)

H = W = 20


def _box(y0, y1, x0, x1, shape=(H, W)):
    m = np.zeros(shape, bool)
    m[y0:y1 + 1, x0:x1 + 1] = True
    return m


# GT rows 2..9, cols 1..18; PRED2 misses rows 8..9 (36 px FN strip, depth 1)
# and adds a 5x5 FP block (25 px, depth 3)
GT = _box(2, 9, 1, 18)
PRED2 = _box(2, 7, 1, 18) | _box(13, 17, 7, 11)


def _soft_min(n_axis, n_diag, h=0.35):
    """kornia's soft-min distance to ``n_axis`` known 4-neighbours and
    ``n_diag`` known diagonal neighbours: -h log(sum exp(-d / h))."""
    return -h * math.log(n_axis * math.exp(-1 / h) +
                         n_diag * math.exp(-math.sqrt(2) / h))


def test_exact_dt_known_values():
    # 3x5 image, all region: the border is the boundary (padding)
    np.testing.assert_array_equal(
        exact_distance_transform(np.ones((3, 5), bool)),
        [[1, 1, 1, 1, 1], [1, 2, 2, 2, 1], [1, 1, 1, 1, 1]])
    m = _box(1, 4, 1, 4, (6, 6))
    dt = exact_distance_transform(m)
    assert dt[2:4, 2:4].tolist() == [[2, 2], [2, 2]]
    assert (dt[m & ~_box(2, 3, 2, 3, (6, 6))] == 1).all()
    assert (dt[~m] == 0).all()
    # Euclidean, not city block: (1, 1) is sqrt(2) from the hole at (0, 0)
    holed = np.ones((5, 5), bool)
    holed[0, 0] = False
    assert exact_distance_transform(holed)[1, 1] == pytest.approx(2**0.5)


def test_kornia_dt_known_values():
    """Closed-form values of kornia 0.7.0's cascaded DT (the numbers
    kornia 0.7.0 itself gives on these masks)."""
    edge, corner = _soft_min(1, 2), _soft_min(2, 3)
    assert edge == pytest.approx(0.8327901, abs=1e-6)
    assert corner == pytest.approx(0.6251081, abs=1e-6)
    dt = cascaded_distance_transform(torch.ones(1, 3, 5, dtype=torch.bool))
    assert dt.dtype == torch.float32
    expected = [[corner, edge, edge, edge, corner],
                # ring 1: offset (1 * 3) // 2 = 1 plus the soft-min to its
                # known ring-0 neighbours (3 axis + 4 diagonal; the centre
                # 2 + 4, its row neighbours being ring 1 too)
                [edge, 1 + _soft_min(3, 4), 1 + _soft_min(2, 4),
                 1 + _soft_min(3, 4), edge],
                [corner, edge, edge, edge, corner]]
    np.testing.assert_allclose(dt[0].numpy(), expected, atol=1e-6)
    # 4x4 square in a 6x6 image: the inner 2x2 is ring 1 (offset 1) with
    # 2 axis + 3 diagonal known neighbours
    dt = cascaded_distance_transform(torch.from_numpy(_box(1, 4, 1, 4,
                                                           (6, 6)))[None])
    np.testing.assert_allclose(dt[0, 2:4, 2:4].numpy(), 1 + corner,
                               atol=1e-6)
    assert (dt[0, 0] == 0).all() and (dt[0, :, 5] == 0).all()
    with pytest.raises(ValueError, match=r'\[N, H, W\]'):
        cascaded_distance_transform(torch.zeros(4, 4, dtype=torch.bool))


def _iterated_cascade(region, h=0.35):
    """kornia 0.7.0's loop written out (test oracle): convolve the known
    set with exp(-|d| / h) (replicate border), soft-min, add offset
    (i * 3) // 2 on the new ring, until no ring is left."""
    known = 1. - torch.nn.functional.pad(region[:, None].float(),
                                         (1, 1, 1, 1))
    coords = torch.arange(3, dtype=torch.float32) - 1
    kernel = torch.exp(torch.hypot(coords[:, None], coords[None, :]) / -h)
    out = torch.zeros_like(known)
    for i in range(max(known.shape[-2:])):
        conv = torch.nn.functional.conv2d(
            torch.nn.functional.pad(known, (1, 1, 1, 1), mode='replicate'),
            kernel[None, None])
        cdt = torch.nan_to_num(-h * torch.log(conv), posinf=0.0)
        ring = cdt > 0
        if not ring.any():
            break
        out = out + ((i * 3) // 2 + cdt) * ring
        known = torch.where(ring, torch.ones_like(known), known)
    return out[:, 0, 1:-1, 1:-1]


def test_closed_form_equals_the_iterated_cascade_bit_for_bit():
    rng = np.random.default_rng(0)
    for t in range(40):
        h, w = rng.integers(3, 40, 2)
        region = torch.from_numpy(rng.random((3, h, w)) < rng.uniform(0.4, 1))
        assert torch.equal(cascaded_distance_transform(region),
                           _iterated_cascade(region)), (t, h, w)
    assert cascaded_distance_transform(torch.zeros(0, 4, 5,
                                                   dtype=torch.bool)).shape \
        == (0, 4, 5)


def test_the_two_transforms_pick_different_pixels():
    """On the 8x18 box the exact DT is flat (4) over cols 4..15, the
    approximate one peaks one column further in: (5, 4) vs (5, 5)."""
    empty = np.zeros_like(GT)[None]
    assert next_clicks(GT[None], empty, None, RITM_RULE).clicks == [
        Click(5, 4, True)
    ]
    assert next_clicks(GT[None], empty, None, SEEM_RULE).clicks == [
        Click(5, 5, True)
    ]
    # ring i = 3 (chessboard depth 4) has offset (3 * 3) // 2 = 4 in kornia
    # 0.7.0 (3 in kornia >= 0.8.2) plus an edge soft-min
    dt = cascaded_distance_transform(torch.from_numpy(GT)[None])[0]
    assert dt.max().item() == pytest.approx(4 + _soft_min(1, 2), abs=1e-6)
    assert dt[5, 4].item() == pytest.approx(4 + _soft_min(2, 3), abs=1e-6)
    exact_rule = ClickRule('area', 'exact', 'region', 0.925)
    assert next_clicks(GT[None], empty, None, exact_rule).clicks == [
        Click(5, 4, True)
    ]


def test_known_click_sequences_on_a_fixed_pair():
    """Empty prediction, then PRED2: area polarity (SEEM) goes to the large
    shallow FN strip, depth polarity (RITM) to the small deep FP block."""
    # SEEM: earlier 3x3 clicks leave the error regions
    c1 = next_clicks(GT[None], np.zeros_like(GT)[None]).clicks[0]
    clicked = _box(c1.y - 1, c1.y + 1, c1.x - 1, c1.x + 1)[None]
    c2 = next_clicks(GT[None], PRED2[None], clicked).clicks[0]
    assert [c1, c2] == [Click(5, 5, True), Click(8, 2, True)]
    # RITM: one clicked pixel, kept in the region with distance 0
    r1 = next_clicks(GT[None], np.zeros_like(GT)[None], None,
                     RITM_RULE).clicks[0]
    clicked = np.zeros_like(GT)[None]
    clicked[0, r1.y, r1.x] = True
    r2 = next_clicks(GT[None], PRED2[None], clicked, RITM_RULE).clicks[0]
    assert [r1, r2] == [Click(5, 4, True), Click(15, 9, False)]
    # a second RITM click in the same FP block avoids the clicked centre
    clicked[0, 15, 9] = True
    r3 = next_clicks(GT[None], PRED2[None], clicked, RITM_RULE).clicks[0]
    assert r3 == Click(14, 8, False)  # depth 2, first in row-major order


def test_clicked_pixels_region_vs_distance():
    gt = _box(1, 5, 1, 5, (7, 7))  # 5x5 FN block, exact depth 3 at centre
    clicked = _box(2, 4, 2, 4, (7, 7))[None]  # a 3x3 click on the centre
    empty = np.zeros_like(gt)[None]
    ritm = next_clicks(gt[None], empty, clicked, RITM_RULE)
    # the clicked pixels keep the region's depth 2 ring out of reach: the
    # best unclicked pixel is on the outer ring (depth 1)
    assert ritm.clicks == [Click(1, 1, True)] and ritm.on_error[0]
    seem = next_clicks(gt[None], empty, clicked, SEEM_RULE)
    # the clicked area leaves the region: a 1-pixel ring remains
    assert seem.clicks[0].is_positive and not clicked[0, seem.clicks[0].y,
                                                       seem.clicks[0].x]


def test_keep_iou_is_compared_in_float32_as_official():
    gt = _box(0, 3, 0, 9, (6, 12))  # 40 px
    pred = gt.copy()
    pred[3, 7:] = False  # 37 px: IoU 37 / 40 = 0.925 exactly
    iou = prompt_iou(torch.from_numpy(gt[None]), torch.from_numpy(pred[None]))
    assert iou.dtype == torch.float32 and iou.item() == np.float32(0.925)
    # float64 would give 37 / (40 + 1e-8) < 0.925 and click again
    assert 37 / (40 + 1e-8) < 0.925
    assert not next_clicks(gt[None], pred[None]).needs_click[0]
    pred[3, 6] = False  # 36 / 40 = 0.9 < 0.925: click
    assert next_clicks(gt[None], pred[None]).needs_click[0]
    assert next_clicks(gt[None], pred[None], None,
                       RITM_RULE).needs_click[0]  # RITM has no IoU gate


def test_nothing_to_click_falls_back_to_origin():
    gt = _box(2, 4, 2, 4, (6, 6))
    p = next_clicks(gt[None], gt[None], None, ClickRule(keep_iou=None))
    assert p.clicks == [Click(0, 0, False)] and not p.on_error[0]
    assert p.needs_click[0]
    # the training helper makes no click then (official clicks (0, 0))
    empty = np.zeros_like(gt)
    assert next_clicks(empty[None], empty[None]).needs_click[0]  # IoU 0
    assert corrective_click(empty, empty) is None


def test_runs_on_tensors_and_batches():
    gts = torch.from_numpy(np.stack([GT, GT]))
    preds = torch.from_numpy(np.stack([np.zeros_like(GT), PRED2]))
    p = next_clicks(gts, preds)
    # strip corner (8, 1) has 2 known axis neighbours, (8, 2) only one
    assert p.clicks == [Click(5, 5, True), Click(8, 2, True)]
    assert p.needs_click.tolist() == [True, True]
    empty = next_clicks(gts[:0], preds[:0])
    assert empty.clicks == [] and empty.needs_click.shape == (0, )


def test_bad_inputs():
    with pytest.raises(TypeError, match='sigmoid'):
        next_clicks(GT[None].astype(np.float32), GT[None])
    with pytest.raises(ValueError, match='one size'):
        next_clicks(GT[None], GT[None, :5])
    with pytest.raises(ValueError, match='clicked'):
        next_clicks(GT[None], GT[None], GT[None, :5])
    with pytest.raises(ValueError, match='polarity'):
        ClickRule(polarity='random')
    with pytest.raises(ValueError, match='keep_iou'):
        ClickRule(keep_iou=1.5)
