"""DAVIS video-object-segmentation measures: region J and boundary F.

SEEM-specific, not in mmdet/mmseg: OpenMMLab has no DAVIS measures. Written
from the DAVIS definitions (Perazzi et al., CVPR 2016; the DAVIS-2017
evaluation toolkit ``davis2017/metrics.py``):

* **J (region similarity)**: Jaccard index ``|M & G| / |M | G|`` over
  non-void pixels; an empty union (object absent in both) scores 1.
* **F (contour accuracy)**: F-measure ``2PR / (P + R)`` between the boundary
  maps of M and G. A boundary pixel counts as matched if a boundary pixel of
  the other mask lies within ``r`` pixels, ``r = ceil(bound_th * diagonal)``
  (``bound_th = 0.008``; a value >= 1 is used as the radius directly);
  matching = dilation of the other boundary map with a disk of radius ``r``.
  Boundary map (``seg2bmap``): a pixel is a boundary pixel if it differs from
  its east, south or south-east neighbour (last row: east only, last column:
  south only, bottom-right corner never). Empty boundaries: none in both ->
  F = 1; only in one -> P or R is 0 and F = 0. Void pixels are removed from
  both masks before the boundaries are taken.
"""
import math
from typing import Optional

import numpy as np
from scipy.ndimage import binary_dilation

__all__ = ['region_similarity', 'seg2bmap', 'disk', 'boundary_radius',
           'boundary_f_measure']

#: DAVIS boundary tolerance as a fraction of the image diagonal.
DAVIS_BOUND_TH = 0.008


def _as_bool(mask, name: str) -> np.ndarray:
    if hasattr(mask, 'detach'):  # torch.Tensor
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'{name} must be a 2-D [H, W] mask, got shape '
                         f'{mask.shape}')
    return mask.astype(bool)


def region_similarity(pred: np.ndarray,
                      gt: np.ndarray,
                      void: Optional[np.ndarray] = None) -> float:
    """DAVIS J: IoU of bool [H, W] masks over non-void pixels (empty -> 1)."""
    pred, gt = _as_bool(pred, 'pred'), _as_bool(gt, 'gt')
    if pred.shape != gt.shape:
        raise ValueError(f'pred {pred.shape} and gt {gt.shape} differ in '
                         'shape')
    valid = np.ones_like(gt) if void is None else ~_as_bool(void, 'void')
    inter = np.count_nonzero(pred & gt & valid)
    union = np.count_nonzero((pred | gt) & valid)
    return 1.0 if union == 0 else inter / union


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary map of a bool [H, W] mask (DAVIS seg2bmap)."""
    seg = _as_bool(seg, 'seg')
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    bmap = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    bmap[-1, :] = seg[-1, :] ^ east[-1, :]
    bmap[:, -1] = seg[:, -1] ^ south[:, -1]
    bmap[-1, -1] = False
    return bmap


def disk(radius: int) -> np.ndarray:
    """Bool disk footprint ``x^2 + y^2 <= radius^2`` of size 2r+1."""
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy * yy + xx * xx) <= r * r


def boundary_radius(shape, bound_th: float = DAVIS_BOUND_TH) -> int:
    """Matching tolerance in pixels: ``ceil(bound_th * hypot(H, W))``."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def boundary_f_measure(pred: np.ndarray,
                       gt: np.ndarray,
                       void: Optional[np.ndarray] = None,
                       bound_th: float = DAVIS_BOUND_TH) -> float:
    """DAVIS F: boundary F-measure of bool [H, W] masks."""
    pred, gt = _as_bool(pred, 'pred'), _as_bool(gt, 'gt')
    if pred.shape != gt.shape:
        raise ValueError(f'pred {pred.shape} and gt {gt.shape} differ in '
                         'shape')
    if void is not None:
        valid = ~_as_bool(void, 'void')
        pred, gt = pred & valid, gt & valid
    pred_b, gt_b = seg2bmap(pred), seg2bmap(gt)
    footprint = disk(boundary_radius(pred.shape, bound_th))
    n_pred, n_gt = np.count_nonzero(pred_b), np.count_nonzero(gt_b)
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    gt_dil = binary_dilation(gt_b, structure=footprint)
    pred_dil = binary_dilation(pred_b, structure=footprint)
    precision = np.count_nonzero(pred_b & gt_dil) / n_pred
    recall = np.count_nonzero(gt_b & pred_dil) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
