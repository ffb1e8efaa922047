import numpy as np
import pytest
import torch

from mmseem.structures import VisualPrompts, click_mask

SIZE = (24, 32)  # (H, W)


def test_points_are_3x3_squares_at_clicked_pixel():
    vp = VisualPrompts.from_points([[[5.0, 7.0], [20.5, 10.2]]], [[1, 0]],
                                   SIZE)
    assert vp.pos_masks.shape == (1, 24, 32)
    assert vp.pos_masks.dtype == torch.bool
    pos = vp.pos_masks[0]
    expected = torch.zeros(SIZE, dtype=torch.bool)
    expected[6:9, 4:7] = True  # click (x=5, y=7) -> row 7, col 5
    assert torch.equal(pos, expected)
    neg = vp.neg_masks[0]
    assert neg[10, 20] and neg.sum() == 9  # floor(20.5), floor(10.2)


def test_point_disk_radius_and_border_click():
    vp = VisualPrompts.from_points(torch.tensor([[[0.0, 0.0]], [[10.0,
                                                                 10.0]]]),
                                   image_size=SIZE,
                                   radius=2,
                                   click_shape='disk')
    assert vp.pos_masks[0].sum() == 6  # quarter disk clipped at corner
    assert vp.pos_masks[1].sum() == 13  # full disk r=2
    assert vp.pos_masks[1, 10, 10]
    # a click exactly on the right/bottom border is inside the image
    vp = VisualPrompts.from_points([[[32.0, 24.0]]], image_size=SIZE)
    assert vp.pos_masks[0, 23, 31]
    assert np.array_equal(click_mask(1, 1, (3, 3), 1, 'square'),
                          np.ones((3, 3), bool))


def test_box_covers_exactly_its_interior():
    vp = VisualPrompts.from_boxes(np.array([[2, 3, 7, 9], [0, 0, 32, 24]]),
                                  SIZE)
    expected = torch.zeros(SIZE, dtype=torch.bool)
    expected[3:9, 2:7] = True
    assert torch.equal(vp.pos_masks[0], expected)
    assert vp.pos_masks[1].all()
    assert not vp.neg_masks.any()
    # a degenerate (zero-width) box still marks one column
    vp = VisualPrompts.from_boxes([[4, 4, 4, 6]], SIZE)
    assert vp.pos_masks[0].sum() == 2 and vp.pos_masks[0, 4:6, 4].all()


def test_polygon_filled_contains_centroid():
    tri = np.array([[4.0, 4.0], [28.0, 6.0], [12.0, 20.0]])
    vp = VisualPrompts.from_polygons([tri], SIZE)
    m = vp.pos_masks[0]
    cx, cy = tri.mean(0)
    assert m[int(cy), int(cx)]
    for x, y in tri:
        assert m[int(y), int(x)]
    assert not m[22, 30] and not m[0, 0]
    assert 100 < m.sum() < 24 * 32


def test_scribble_thickness_and_multi_stroke():
    line = [[2.0, 5.0], [25.0, 5.0]]
    thin = VisualPrompts.from_scribbles([line], SIZE, thickness=1)
    thick = VisualPrompts.from_scribbles([line], SIZE, thickness=5)
    assert thin.pos_masks[0, 5, 2:26].all() and thin.pos_masks[0].sum() == 24
    assert thick.pos_masks[0].sum() > 3 * thin.pos_masks[0].sum()
    assert thick.pos_masks[0, 3, 10] and not thick.pos_masks[0, 12, 10]
    # two strokes in one prompt, negative label
    with pytest.warns(UserWarning, match='negative-only'):
        two = VisualPrompts.from_scribbles(
            [[np.array(line),
              np.array([[3.0, 15.0], [3.0, 20.0]])]],
            SIZE,
            labels=[0],
            allow_negative_only=True)
    assert two.neg_masks[0, 5, 10] and two.neg_masks[0, 18, 3]


def test_masks_and_resize():
    masks = torch.zeros(2, 24, 32, dtype=torch.bool)
    masks[0, 2:5, 2:5] = True
    masks[1, 10:20, 10:30] = True
    vp = VisualPrompts.from_masks(masks)
    assert torch.equal(vp.pos_masks, masks) and vp.image_size == SIZE
    small = np.zeros((1, 12, 16), np.uint8)
    small[0, 1:3, 1:3] = 1
    vp = VisualPrompts.from_masks(small, SIZE, resize=True)
    assert vp.pos_masks[0].sum() == 16 and vp.pos_masks[0, 2:6, 2:6].all()


def test_build_union_per_prompt_and_merge_cat():
    vp = VisualPrompts.build(SIZE,
                             points=[[[20.0, 12.0]],
                                     np.zeros((0, 2))],
                             point_labels=[[0], []],
                             boxes=[[2, 2, 30, 20], [0, 0, 4, 4]])
    assert vp.kinds == [['box', 'point'], ['box']]
    assert vp.pos_masks[0, 2:20, 2:30].all() and vp.neg_masks[0, 12, 20]
    assert vp.pos_masks[1].sum() == 16 and not vp.neg_masks[1].any()
    clicks = VisualPrompts.from_points([[[1.0, 1.0]], [[10.0, 10.0]]],
                                       image_size=SIZE)
    merged = vp.merge(clicks)
    assert len(merged) == 2 and merged.pos_masks[1, 10, 10]
    assert torch.equal(merged.pos_masks[0], vp.pos_masks[0]
                       | clicks.pos_masks[0])
    both = VisualPrompts.cat([vp, clicks])
    assert len(both) == 4 and torch.equal(both.pos_masks[2:], clicks.pos_masks)
    with pytest.raises(ValueError, match='same number of prompts'):
        vp.merge(VisualPrompts.from_boxes([[0, 0, 2, 2]], SIZE))
    with pytest.raises(ValueError, match='same number of prompts'):
        VisualPrompts.build(SIZE,
                            points=[[[1.0, 1.0]]],
                            boxes=[[0, 0, 2, 2], [0, 0, 3, 3]])


def test_to_tensors_pads_bottom_right():
    vp = VisualPrompts.from_boxes([[0, 0, 32, 24]], SIZE)
    pos, neg = vp.to_tensors(pad_to=(32, 64), device='cpu')
    assert pos.shape == neg.shape == (1, 32, 64)
    assert pos.dtype == torch.bool
    assert pos[0, :24, :32].all() and not pos[0, 24:].any()
    assert not pos[0, :, 32:].any() and not neg.any()
    with pytest.raises(ValueError, match='smaller than the image size'):
        vp.to_tensors(pad_to=(16, 64))


def test_rescale_points_boxes_masks():
    masks = np.zeros((1, 24, 32), bool)
    masks[0, 4:8, 4:8] = True
    vp = VisualPrompts.cat([
        VisualPrompts.build(SIZE, points=[[[5.0, 7.0]]], boxes=[[2, 3, 7, 9]]),
        VisualPrompts.from_masks(masks)
    ])
    big = vp.rescale(2.0)
    assert big.image_size == (48, 64)
    assert big.pos_masks[0, 6:18, 4:14].all()  # box scaled
    assert big.pos_masks[0, 14, 10]  # click scaled to (x=10, y=14)
    assert big.pos_masks[1, 8:16, 8:16].all() and big.pos_masks[1].sum() == 64
    half = vp.rescale((0.5, 0.5))
    assert half.image_size == (12, 16) and half.pos_masks[1].sum() == 4


@pytest.mark.parametrize('kwargs, words', [
    (dict(points=[[[40.0, 3.0]]]), ['point 0', 'x=40', 'H=24, W=32', 'clip']),
    (dict(points=[[[3.0, -1.0]]]), ['outside the image', 'clip=True']),
    (dict(points=np.zeros((1, 2, 3))), ['[P, N, 2]', '(1, 2, 3)']),
    (dict(points=np.ones((3, 2))), ['points[:, None]']),
    (dict(points=[[[float('nan'), 3.0]]]), ['NaN']),
    (dict(points=[[[1.0, 1.0]]], point_labels=[[2]]), ['1 (positive)']),
    (dict(points=[[[1.0, 1.0]]], point_labels=[[-1]]), ['use 0, not -1']),
    (dict(boxes=[[10, 2, 5, 8]]), ['x2 < x1', 'x1 <= x2']),
    (dict(boxes=[[1, 9, 5, 8]]), ['y2 < y1']),
    (dict(boxes=np.zeros((2, 5))), ['[P, 4]']),
    (dict(boxes=[[0, 0, 40, 8]]), ['outside the image']),
    (dict(polygons=[[[1.0, 1.0], [5.0, 5.0]]]), ['K >= 3']),
    (dict(scribbles=[[[1.0, 1.0], [50.0, 5.0]]]),
     ['scribble of prompt 0', 'outside']),
    (dict(masks=np.zeros((1, 12, 32), bool)),
     ['H=12, W=32', 'H=24, W=32', 'resize=True']),
    (dict(masks=np.full((1, 24, 32), 255, np.uint8)),
     ['not binary', 'mask > 0']),
    (dict(masks=np.zeros((24, 32), bool)), ['[P, H, W]', 'mask[None]']),
    (dict(masks=np.zeros((2, 24, 32), bool)), ['prompt 0 is empty', '[0, 1]']),
    (dict(), ['no prompt given']),
])
def test_bad_inputs_raise_with_clear_message(kwargs, words):
    with pytest.raises(ValueError) as err:
        VisualPrompts.build(SIZE, **kwargs)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_clip_clamps_points_and_boxes():
    vp = VisualPrompts.from_points([[[40.0, -3.0]]],
                                   image_size=SIZE,
                                   clip=True)
    assert vp.pos_masks[0, 0, 31]
    vp = VisualPrompts.from_boxes([[-5, -5, 100, 10]], SIZE, clip=True)
    assert vp.pos_masks[0, :10].all() and not vp.pos_masks[0, 10:].any()
    with pytest.raises(ValueError, match='entirely outside'):
        VisualPrompts.from_boxes([[40, 0, 50, 10]], SIZE, clip=True)


def test_negative_only_prompt_errors_or_warns():
    with pytest.raises(ValueError) as err:
        VisualPrompts.from_points([[[3.0, 3.0]], [[5.0, 5.0]]], [[1], [0]],
                                  SIZE)
    assert 'prompts [1] are negative-only' in str(err.value)
    assert 'allow_negative_only=True' in str(err.value)
    with pytest.warns(UserWarning, match='negative-only'):
        vp = VisualPrompts.from_points([[[3.0, 3.0]], [[5.0, 5.0]]],
                                       [[1], [0]],
                                       SIZE,
                                       allow_negative_only=True)
    assert not vp.pos_masks[1].any() and vp.neg_masks[1].any()


def test_bad_image_size():
    with pytest.raises(ValueError, match='positive ints'):
        VisualPrompts.from_boxes([[0, 0, 1, 1]], (0, 5))


def test_masks_with_negative_masks_and_rescaled_strokes():
    pos = torch.zeros(1, 24, 32, dtype=torch.bool)
    pos[0, 2:10, 2:10] = True
    neg = torch.zeros_like(pos)
    neg[0, 5, 5] = True
    vp = VisualPrompts.from_masks(pos, neg_masks=neg)
    assert torch.equal(vp.pos_masks, pos) and torch.equal(vp.neg_masks, neg)
    poly = VisualPrompts.from_polygons([[[2.0, 2.0], [10.0, 2.0],
                                         [10.0, 10.0], [2.0, 10.0]]], SIZE)
    big = poly.rescale(2.0)
    assert big.pos_masks[0, 4:21, 4:21].all()
    assert big.pos_masks[0].sum() == 17 * 17  # cv2 fills vertices inclusive
    assert poly.pos_masks[0].sum() == 9 * 9
