import numpy as np
import pytest
import torch

from mmseem.models.task_modules import (InteractivePromptSimulator,
                                        corrective_click)
from mmseem.registry import TASK_UTILS

H, W = 40, 48


def _gt_masks(n=12):
    """n instances: rectangles, a disk and an L shape on a 40x48 image."""
    masks = torch.zeros(n, H, W, dtype=torch.bool)
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing='ij')
    for i in range(n):
        kind = i % 3
        if kind == 0:
            masks[i, 2 + i:14 + i, 3 + 2 * i:20 + 2 * i] = True
        elif kind == 1:
            masks[i] = (yy - 20)**2 + (xx - 24)**2 <= (6 + i)**2
        else:  # non-convex L shape
            masks[i, 5:35, 5:12] = True
            masks[i, 28:35, 5:40] = True
    return masks


def test_registry_and_defaults():
    sim = TASK_UTILS.build(dict(type='InteractivePromptSimulator'))
    assert isinstance(sim, InteractivePromptSimulator)
    assert sim.max_instances == 10 and sim.max_rounds == 5
    assert sim.iou_thr == pytest.approx(0.925)
    probs = dict(zip(sim.shape_names, sim.shape_probs))
    assert probs['point'] == pytest.approx(0.25) and probs['box'] == 0


@pytest.mark.parametrize('shape', ['point', 'polygon', 'scribble', 'circle'])
def test_prompts_lie_inside_gt_mask(shape):
    sim = InteractivePromptSimulator(shape_probs={shape: 1.0})
    gt = _gt_masks()
    drawn = 0
    for seed in range(4):
        out = sim.sample(gt, generator=seed)
        assert len(out['types']) <= 10
        for k, idx in enumerate(out['indices'].tolist()):
            pos = out['pos_masks'][k]
            assert not (pos & ~gt[idx]).any(), (shape, seed, k)
            assert not out['neg_masks'][k].any()
            if out['types'][k] == shape:
                drawn += 1
                assert pos.any()
                assert torch.equal(out['gt_masks'][k], gt[idx])
            else:
                assert out['types'][k] == 'none'
                assert not out['gt_masks'][k].any()
    assert drawn > 20


def test_point_prompt_has_1_to_max_points_pixels():
    sim = InteractivePromptSimulator(shape_probs=dict(point=1.0), max_points=5)
    out = sim.sample(_gt_masks(), generator=0)
    counts = out['pos_masks'].flatten(1).sum(1)
    assert (counts >= 1).all() and (counts <= 5).all()


def test_box_prompt_is_gt_box_interior():
    sim = InteractivePromptSimulator(shape_probs=dict(box=1.0))
    gt = torch.zeros(1, H, W, dtype=torch.bool)
    gt[0, 10:20, 5:30] = True
    gt[0, 10, 40] = True  # extends the box to x2 = 41
    out = sim.sample(gt, generator=0)
    expected = torch.zeros(H, W, dtype=torch.bool)
    expected[10:20, 5:41] = True
    assert out['types'] == ['box'] and torch.equal(out['pos_masks'][0],
                                                   expected)


def test_at_most_max_instances_and_tiny_masks_are_none():
    gt = _gt_masks(14)
    sim = InteractivePromptSimulator(max_instances=10)
    out = sim.sample(gt, generator=1)
    assert len(out['types']) == 10
    assert len(set(out['indices'].tolist())) == 10
    tiny = torch.zeros(2, H, W, dtype=torch.bool)
    tiny[0, 0:3, 0:3] = True  # 9 px < min_area 10
    tiny[1, 5:15, 5:15] = True
    out = InteractivePromptSimulator(shape_probs=dict(point=1.0)).sample(
        tiny, generator=0)
    types = dict(zip(out['indices'].tolist(), out['types']))
    assert types == {0: 'none', 1: 'point'}
    empty = sim.sample(torch.zeros(0, H, W, dtype=torch.bool))
    assert empty['types'] == ['none'] and empty['pos_masks'].shape == (1, H, W)


def test_probabilities_are_configurable():
    gt = _gt_masks(10)
    sim = InteractivePromptSimulator(
        shape_probs=dict(point=0.0, polygon=0.0, scribble=0.0, circle=1.0))
    types = set()
    for seed in range(3):
        types |= set(sim.sample(gt, generator=seed)['types'])
    assert types <= {'circle', 'none'} and 'circle' in types
    mix = InteractivePromptSimulator(shape_probs=dict(point=0.5, box=0.5))
    types = []
    for seed in range(5):
        types += mix.sample(gt, generator=seed)['types']
    assert set(types) == {'point', 'box'}
    with pytest.raises(ValueError, match='unknown names'):
        InteractivePromptSimulator(shape_probs=dict(lasso=1.0))
    with pytest.raises(ValueError, match='non-negative'):
        InteractivePromptSimulator(shape_probs=dict(point=-1.0, box=2.0))


def test_deterministic_per_seed_and_seeds_differ():
    gt = _gt_masks()
    sim = InteractivePromptSimulator()
    a = sim.sample(gt, generator=np.random.default_rng(7))
    b = sim.sample(gt, generator=np.random.default_rng(7))
    c = sim.sample(gt, generator=np.random.default_rng(8))
    assert a['types'] == b['types']
    assert torch.equal(a['indices'], b['indices'])
    assert torch.equal(a['pos_masks'], b['pos_masks'])
    assert not (torch.equal(a['indices'], c['indices'])
                and torch.equal(a['pos_masks'], c['pos_masks']))
    t1 = sim.sample(gt, generator=torch.Generator().manual_seed(3))
    t2 = sim.sample(gt, generator=torch.Generator().manual_seed(3))
    assert torch.equal(t1['pos_masks'], t2['pos_masks'])
    rounds = [sim.num_rounds(np.random.default_rng(s)) for s in range(40)]
    assert min(rounds) == 0 and max(rounds) == 5
    assert sim.num_rounds(11) == sim.num_rounds(11)


def _square_pair():
    gt = torch.zeros(32, 32, dtype=torch.bool)
    gt[4:24, 4:24] = True  # 20x20 GT square
    pred = gt.clone()
    pred[4:10, 4:10] = False  # misses a 6x6 corner
    return gt, pred


def test_corrective_click_positive_in_missing_corner():
    gt, pred = _square_pair()
    y, x, positive = corrective_click(pred, gt)
    assert positive
    assert 4 <= y < 10 and 4 <= x < 10
    # at the distance-transform maximum of the 6x6 hole (depth 3)
    assert min(y - 3, 10 - y, x - 3, 10 - x) == 3
    assert (y, x) == (6, 6)  # first maximum in row-major order


def test_corrective_click_negative_on_spurious_area():
    gt, _ = _square_pair()
    pred = gt.clone()
    pred[24:31, 10:20] = True  # 70 px false positive below the square
    pred[4, 4] = False  # 1 px false negative
    y, x, positive = corrective_click(pred.numpy(), gt.numpy())
    assert not positive
    assert 24 <= y < 31 and 10 <= x < 20 and not gt[y, x]
    # previous prompts are excluded from the error regions
    prev = torch.zeros_like(gt)
    prev[24:31, 10:20] = True
    y, x, positive = corrective_click(pred, gt, prev)
    assert positive and (y, x) == (4, 4)


def test_no_click_when_iou_high_or_nothing_left():
    gt, _ = _square_pair()
    pred = gt.clone()
    pred[4:6, 4:12] = False  # IoU = 384 / 400 = 0.96 >= 0.925
    assert corrective_click(pred, gt) is None
    assert corrective_click(pred, gt, iou_thr=0.97) is not None
    assert corrective_click(torch.zeros_like(gt), torch.zeros_like(gt)) is None
    with pytest.raises(TypeError, match='sigmoid'):
        corrective_click(pred.float(), gt)
    with pytest.raises(ValueError, match='one size'):
        corrective_click(pred[:10], gt)


def _box(y0, y1, x0, x1, shape=(20, 20)):
    m = torch.zeros(shape, dtype=torch.bool)
    m[y0:y1 + 1, x0:x1 + 1] = True
    return m


def test_training_clicks_use_kornias_approximate_transform():
    """Issue 11: official training places clicks with kornia 0.7.0's
    approximate DT (the rule SEEM's evaluation uses too); the old simulator
    used OpenCV's exact one. On this 8x18 box the exact DT is flat over
    cols 4..15 (first maximum (5, 4)); the approximate one peaks at
    (5, 5)."""
    gt = _box(2, 9, 1, 18)
    assert corrective_click(torch.zeros_like(gt), gt) == (5, 5, True)


def test_known_click_sequence_over_two_rounds():
    gt = _box(2, 9, 1, 18)[None]
    # round 2 prediction: misses rows 8..9 (36 px FN strip), adds a 5x5 FP
    # block (25 px): the larger FN area wins, at the strip's first
    # non-corner pixel (8, 2)
    pred2 = (_box(2, 7, 1, 18) | _box(13, 17, 7, 11))[None]
    sim = InteractivePromptSimulator()
    empty = torch.zeros_like(gt)
    out = sim.next_click(empty, gt, empty, empty)
    assert torch.equal(out['pos_masks'][0], _box(4, 6, 4, 6))
    out = sim.next_click(pred2, gt, out['pos_masks'], out['neg_masks'],
                         out['false_positive_mask'])
    assert torch.equal(out['pos_masks'][0],
                       _box(4, 6, 4, 6) | _box(7, 9, 1, 3))
    assert not out['neg_masks'].any()
    assert torch.equal(out['false_positive_mask'][0], _box(13, 17, 7, 11))


def test_no_click_at_exact_iou_0_925():
    """Official IoU is float32 (37 / 40 = float32(0.925), not < 0.925):
    no click; the old float64 37 / (40 + 1e-8) < 0.925 clicked."""
    gt = _box(0, 3, 0, 9, (6, 12))
    pred = gt.clone()
    pred[3, 7:] = False
    assert corrective_click(pred, gt) is None
    pred[3, 6] = False  # 36 / 40
    assert corrective_click(pred, gt) is not None


def test_next_click_updates_pos_neg_and_fp():
    gt, pred = _square_pair()
    gt2 = gt.clone()
    pred2 = gt.clone()
    pred2[24:31, 10:20] = True
    good = gt.clone()
    gts = torch.stack([gt, gt2, gt])
    preds = torch.stack([pred, pred2, good])
    prev = torch.zeros_like(gts)
    prev_pos = prev.clone()
    prev_pos[:, 15, 15] = True
    sim = InteractivePromptSimulator()
    out = sim.next_click(preds, gts, prev_pos, prev)
    pos, neg = out['pos_masks'], out['neg_masks']
    expected = torch.zeros(32, 32, dtype=torch.bool)
    expected[5:8, 5:8] = True  # 3x3 click at (6, 6)
    assert torch.equal(pos[0], prev_pos[0] | expected)
    assert not neg[0].any()
    assert torch.equal(pos[1], prev_pos[1]) and neg[1].sum() == 9
    assert (neg[1] & ~gt).sum() == 9
    assert torch.equal(pos[2], prev_pos[2]) and not neg[2].any()
    assert torch.equal(out['false_positive_mask'][1], pred2 & ~gt)
    with pytest.raises(ValueError, match='one size'):
        sim.next_click(preds[:, :10], gts, prev_pos, prev)
