"""DAVIS J (region) and F (boundary) measures with known answers."""
import numpy as np
import pytest

from mmseem.evaluation.functional import (boundary_f_measure, boundary_radius,
                                          disk, region_similarity, seg2bmap)


def _square(size, y0, x0, side):
    m = np.zeros((size, size), bool)
    m[y0:y0 + side, x0:x0 + side] = True
    return m


def test_identical_and_disjoint_masks():
    a = _square(64, 10, 10, 20)
    b = _square(64, 40, 40, 20)
    assert region_similarity(a, a) == 1 and boundary_f_measure(a, a) == 1
    assert region_similarity(a, b) == 0 and boundary_f_measure(a, b) == 0


def test_empty_masks():
    e = np.zeros((16, 16), bool)
    a = _square(16, 4, 4, 6)
    assert region_similarity(e, e) == 1 and boundary_f_measure(e, e) == 1
    assert region_similarity(e, a) == 0 and boundary_f_measure(e, a) == 0


def test_region_similarity_value_and_void():
    gt = _square(10, 0, 0, 4)  # 16 px
    pred = _square(10, 0, 0, 2)  # 4 px inside gt
    assert region_similarity(pred, gt) == pytest.approx(4 / 16)
    void = np.zeros_like(gt)
    void[2:4, :] = True  # removes 8 gt pixels from the union
    assert region_similarity(pred, gt, void) == pytest.approx(4 / 8)


def test_seg2bmap_marks_east_south_transitions():
    seg = np.zeros((4, 5), bool)
    seg[1:3, 1:3] = True
    expected = np.array([
        [1, 1, 1, 0, 0],
        [1, 0, 1, 0, 0],
        [1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ], bool)
    # pixel (0, 0) differs from its SE neighbour (1, 1) only
    np.testing.assert_array_equal(seg2bmap(seg), expected)


def test_disk_and_radius():
    assert disk(1).sum() == 5 and disk(2).sum() == 13
    # DAVIS: ceil(0.008 * hypot(480, 854)) = ceil(7.84) = 8
    assert boundary_radius((480, 854)) == 8
    assert boundary_radius((200, 200)) == 3  # ceil(2.26)
    assert boundary_radius((10, 10), bound_th=2) == 2


def test_boundary_f_tolerates_shift_within_radius():
    gt = _square(200, 50, 50, 80)  # radius 3 px on a 200x200 image
    shift1 = np.roll(gt, 1, axis=1)
    shift3 = np.roll(gt, 3, axis=1)
    far = np.roll(gt, 20, axis=1)
    assert region_similarity(shift1, gt) < 1
    assert boundary_f_measure(shift1, gt) == 1
    assert boundary_f_measure(shift3, gt) == 1
    f_far = boundary_f_measure(far, gt)
    assert 0 < f_far < 1  # top/bottom edges still partly match
    assert boundary_f_measure(np.roll(gt, 4, axis=1), gt) < 1


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match='shape'):
        region_similarity(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match='2-D'):
        boundary_f_measure(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)))
