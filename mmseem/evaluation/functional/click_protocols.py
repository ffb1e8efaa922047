"""Click simulation protocols for interactive-segmentation benchmarks.

SEEM-specific, not in mmdet/mmseg: OpenMMLab has no interactive (click)
evaluation. Two protocols are provided, both model-agnostic (numpy + a
little torch, no model imports). Where each places its next click is the
corrective-click rule of :mod:`mmseem.structures.click_rule` (shared with
the training prompt simulator), in the variant the protocol specifies.

``'standard'`` -- the NoC protocol of RITM / SimpleClick
    (``isegm/inference/evaluation.py`` ``evaluate_sample`` and
    ``isegm/inference/clicker.py`` ``Clicker._get_next_click``, identical in
    both repositories). Objects are evaluated independently. Clicks follow
    :data:`~mmseem.structures.click_rule.RITM_RULE`: error regions without
    ignore pixels, exact Euclidean DT with the image border as boundary,
    already clicked pixels get DT 0, positive iff ``max DT(FN) > max
    DT(FP)``; the first click lands at the most interior point of the
    object. A click is one pixel. Probabilities become masks at ``> 0.49``
    (``evaluate_sample(pred_thr=0.49)``, ``--thresh`` default). IoUs are
    computed in float64 (``utils.get_iou``) and stored as float32
    (``np.array(ious_list, dtype=np.float32)``). A session runs
    ``max_clicks`` (20) clicks unless ``stop_iou`` is given: RITM and
    SimpleClick click on to ``max_clicks`` for the mIoU@k curve
    (``--print-ious`` / ``--iou-analysis`` set ``target_iou = 1.01``), while
    their NoC runs stop after the click whose IoU reaches ``--target-iou``
    (``iou >= max_iou_thr``). NoC is the same either way; a carried-forward
    mIoU@k is not.

``'seem'`` -- the protocol of SEEM's interactive evaluation
    (``modeling/architectures/seem_model_v1.py`` ``evaluate_interactive`` and
    ``prepare_next_spaital_mask``, first click from
    ``datasets/visual_sampler/simpleclick_sampler.py``
    ``SimpleClickSampler.forward_point``). The objects of an image are
    prompted jointly, one click per object per round (the official VOC/SBD
    registration, ``datasets/registration/register_pascalvoc_eval.py``,
    splits an image's objects into groups of at most 5, each group being one
    session -- do the same when calling :func:`run_interactive_session`):

    * clicks follow :data:`~mmseem.structures.click_rule.SEEM_RULE`: the
      first at the most interior point of the GT mask; then the error
      regions minus the area of this object's earlier clicks, positive iff
      ``|FN| > |FP|`` (strict), at the most interior point (kornia 0.7.0's
      approximate DT) of the chosen region;
    * a click is the click pixel dilated by a 3x3 square (``DILATION: 3``);
    * an object whose IoU (float32, ``+ 1e-8``, ignore pixels included) is
      already ``>= 0.925`` gets no new click;
    * masks are ``sigmoid > 0.5``; IoUs are float32 (torch ``get_iou``);
    * the session stops as soon as *every* object has IoU ``> 0.9``
      (strict, compared in float32); the remaining rounds repeat the final
      IoUs (carry forward -- SEEM's own mIoU@k);
    * IoU excludes ignore pixels (VOC instance label 220) from both I and U,
      but click simulation does not: there the GT is ``instance == id`` so
      ignore pixels behave as background (as in the official mapper).

Both IoUs here define an empty union as IoU 1 (the official code would divide
by zero; this only matters for degenerate empty objects).
"""
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch

from mmseem.structures.click_rule import (RITM_RULE, SEEM_RULE, Click,
                                          cascaded_distance_transform,
                                          exact_distance_transform,
                                          next_clicks)

__all__ = [
    'Click', 'PROTOCOLS', 'PROB_THR', 'mask_iou', 'exact_distance_transform',
    'cascaded_distance_transform', 'standard_next_click', 'seem_next_click',
    'clicks_to_masks', 'wrap_point_predictor', 'run_interactive_session'
]

#: Protocol names accepted by :func:`run_interactive_session`.
PROTOCOLS = ('standard', 'seem')

#: Probability threshold of each protocol (masks are ``prob > thr``):
#: RITM/SimpleClick ``pred_thr=0.49``; SEEM ``sigmoid() > 0.5``.
PROB_THR = {'standard': 0.49, 'seem': 0.5}
#: SEEM: objects with IoU >= this get no further click
#: (``prepare_next_spaital_mask``: ``keep = iou < 0.925``).
SEEM_KEEP_IOU = SEEM_RULE.keep_iou
#: SEEM: the session stops when all objects have IoU > this.
SEEM_STOP_IOU = 0.9
#: SEEM: clicks are dilated by a 3x3 square (``STROKE_SAMPLER.DILATION: 3``).
SEEM_CLICK_RADIUS = 1


def _as_bool_masks(masks, name: str, thr: float = 0.5) -> np.ndarray:
    """Convert a [N, H, W] or [H, W] mask (ndarray / tensor) to bool numpy;
    float masks are probabilities, ``> thr``."""
    if isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3:
        raise ValueError(f'{name} must have shape [N, H, W] or [H, W], got '
                         f'{masks.shape}')
    if masks.dtype != bool:
        if np.issubdtype(masks.dtype, np.floating):
            masks = masks > thr
        else:
            masks = masks != 0
    return masks


def mask_iou(gt_masks: np.ndarray,
             pred_masks: np.ndarray,
             ignore_mask: Optional[np.ndarray] = None,
             dtype=np.float64) -> np.ndarray:
    """Per-object IoU ``|gt & pred| / |gt | pred|`` over non-ignored pixels.

    Args:
        gt_masks, pred_masks: bool [N, H, W].
        ignore_mask: bool [H, W] (or [N, H, W]); True pixels are excluded
            from intersection and union.
        dtype: precision of the division: float64 (RITM's numpy IoU) or
            float32 (SEEM's torch IoU).

    Returns:
        ``dtype`` [N]; an empty union gives IoU 1.
    """
    inter = gt_masks & pred_masks
    union = gt_masks | pred_masks
    if ignore_mask is not None:
        inter = inter & ~ignore_mask
        union = union & ~ignore_mask
    inter = inter.reshape(len(inter), -1).sum(-1).astype(dtype)
    union = union.reshape(len(union), -1).sum(-1).astype(dtype)
    iou = np.ones_like(inter)
    np.divide(inter, union, out=iou, where=union > 0)
    return iou


def standard_next_click(gt_mask: np.ndarray,
                        pred_mask: np.ndarray,
                        not_clicked: np.ndarray,
                        not_ignore: Optional[np.ndarray] = None) -> Click:
    """Next click of the standard (RITM/SimpleClick) protocol for one object
    (:data:`~mmseem.structures.click_rule.RITM_RULE`).

    Args:
        gt_mask, pred_mask: bool [H, W].
        not_clicked: bool [H, W], False at pixels already clicked.
        not_ignore: bool [H, W], False at ignored pixels.
    """
    return next_clicks(gt_mask[None], pred_mask[None], ~not_clicked[None],
                       RITM_RULE, not_ignore).clicks[0]


def seem_next_click(gt_masks: np.ndarray,
                    pred_masks: Optional[np.ndarray] = None,
                    clicked: Optional[np.ndarray] = None) -> List[Click]:
    """Next click of SEEM's protocol for each of N objects
    (:data:`~mmseem.structures.click_rule.SEEM_RULE`).

    Args:
        gt_masks: bool [N, H, W].
        pred_masks: bool [N, H, W] or None (first click: empty prediction).
        clicked: bool [N, H, W], area covered by each object's earlier
            (dilated) clicks, or None.

    Returns:
        One :class:`Click` per object (the caller drops clicks of objects
        whose IoU is already >= 0.925).
    """
    if pred_masks is None:
        pred_masks = np.zeros_like(gt_masks)
    return next_clicks(gt_masks, pred_masks, clicked, SEEM_RULE).clicks


def clicks_to_masks(clicks: Sequence[Click],
                    shape: Sequence[int],
                    radius: int = 0) -> tuple:
    """Rasterize clicks into (positive, negative) bool [H, W] maps.

    Each click covers a ``(2 * radius + 1)`` square clipped to the image
    (``radius=1`` is SEEM's 3x3 dilation, ``radius=0`` one pixel).
    """
    pos = np.zeros(tuple(shape), dtype=bool)
    neg = np.zeros(tuple(shape), dtype=bool)
    for c in clicks:
        target = pos if c.is_positive else neg
        target[max(c.y - radius, 0):c.y + radius + 1,
               max(c.x - radius, 0):c.x + radius + 1] = True
    return pos, neg


def wrap_point_predictor(predict: Callable) -> Callable:
    """Wrap a SAM-style single-object ``predict(points, labels) -> mask``.

    ``points`` is float [K, 2] in (x, y) order, ``labels`` int [K] with 1 for
    positive and 0 for negative clicks; ``mask`` is [H, W] (bool or
    probability). The returned callable has the ``predict_fn`` signature of
    :func:`run_interactive_session` and queries each object separately.
    """

    def predict_fn(clicks_per_object, prev_masks):
        masks = []
        for clicks, prev in zip(clicks_per_object, prev_masks):
            if len(clicks) == 0:
                masks.append(prev)
                continue
            points = np.array([[c.x, c.y] for c in clicks], dtype=np.float32)
            labels = np.array([int(c.is_positive) for c in clicks])
            masks.append(_as_bool_masks(predict(points, labels), 'mask')[0])
        return np.stack(masks)

    return predict_fn


def _check_args(protocol, max_clicks, stop_iou, prob_thr):
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got '
                         f'{protocol!r}')
    if not isinstance(max_clicks, int) or max_clicks < 1:
        raise ValueError(f'max_clicks must be a positive int, got '
                         f'{max_clicks!r}')
    if stop_iou is not None:
        if protocol == 'seem':
            raise ValueError('stop_iou is fixed by the SEEM protocol (all '
                             'objects > 0.9); leave it None')
        if not 0 < stop_iou <= 1:
            raise ValueError(f'stop_iou must be in (0, 1] or None (never '
                             f'stop), got {stop_iou!r}')
    if prob_thr is not None and not 0 <= prob_thr < 1:
        raise ValueError(f'prob_thr must be in [0, 1), got {prob_thr!r}')


def run_interactive_session(predict_fn: Callable,
                            gt_masks: Union[np.ndarray, torch.Tensor],
                            protocol: str = 'standard',
                            max_clicks: int = 20,
                            ignore_mask: Optional[np.ndarray] = None,
                            stop_iou: Optional[float] = None,
                            prob_thr: Optional[float] = None) -> dict:
    """Simulate a click session and record per-object IoU after each click.

    Args:
        predict_fn: ``predict_fn(clicks_so_far, prev_masks) -> masks`` where
            ``clicks_so_far`` is a list (one per object) of lists of
            :class:`Click`, ``prev_masks`` bool [N, H, W] the previous
            prediction (all False before the first click), and ``masks`` is
            [N, H, W] bool, or probabilities thresholded at ``prob_thr``
            (ndarray or tensor). A point-prompt model can be adapted with
            :func:`wrap_point_predictor`; a mask-prompt model can rasterize
            the clicks with :func:`clicks_to_masks` (``radius=1`` for SEEM).
        gt_masks: bool [N, H, W] (or [H, W] for one object). For ``'seem'``
            the ignore pixels must be 0 here (official: ``instance == id``).
        protocol: ``'standard'`` or ``'seem'`` (see module docstring).
        max_clicks: clicks per object at most (20 in both protocols).
        ignore_mask: bool [H, W], pixels excluded from IoU (and, for the
            standard protocol, from the error regions), e.g.
            ``instance_map == 220`` for SEEM's VOC/SBD data.
        stop_iou: standard protocol only. None (default): every object gets
            ``max_clicks`` clicks, as RITM / SimpleClick run for mIoU@k; a
            float: an object stops after the click whose IoU reaches
            ``>= stop_iou`` (RITM's NoC runs, e.g. 0.95; NoC unchanged,
            fewer clicks, but mIoU@k then carries IoUs forward). SEEM always
            stops when every object has IoU ``> 0.9``.
        prob_thr: threshold for probability outputs (``prob > prob_thr``);
            default :data:`PROB_THR` of the protocol (0.49 standard, 0.5
            SEEM). Bool outputs are used as they are.

    Returns:
        dict with ``ious`` float32 [N, max_clicks] (IoU after k+1 clicks;
        after an object/session stopped, its last IoU is carried forward),
        ``num_clicks`` int [N] (clicks actually placed per object) and
        ``clicks`` (list of per-object click lists).
    """
    _check_args(protocol, max_clicks, stop_iou, prob_thr)
    thr = PROB_THR[protocol] if prob_thr is None else prob_thr
    gt = _as_bool_masks(gt_masks, 'gt_masks')
    n, hgt, wid = gt.shape
    ignore = None
    if ignore_mask is not None:
        ignore = _as_bool_masks(ignore_mask, 'ignore_mask')[0]
        if ignore.shape != (hgt, wid):
            raise ValueError(f'ignore_mask shape {ignore.shape} does not '
                             f'match gt_masks {(hgt, wid)}')

    clicks: List[List[Click]] = [[] for _ in range(n)]
    ious = np.zeros((n, max_clicks), dtype=np.float32)
    num_clicks = np.zeros(n, dtype=np.int64)
    pred = np.zeros_like(gt)
    clicked = np.zeros_like(gt)

    def predict():
        out = _as_bool_masks(predict_fn(clicks, pred.copy()),
                             'predict_fn output', thr)
        if out.shape != gt.shape:
            raise ValueError(f'predict_fn returned masks of shape '
                             f'{out.shape}, expected {gt.shape}')
        return out

    if protocol == 'standard':
        not_ignore = None if ignore is None else ~ignore
        active = np.ones(n, dtype=bool)
        for k in range(max_clicks):
            idx = np.flatnonzero(active)
            proposal = next_clicks(gt[idx], pred[idx], clicked[idx],
                                   RITM_RULE, not_ignore)
            for i, c in zip(idx, proposal.clicks):
                clicks[i].append(c)
                clicked[i, c.y, c.x] = True
                num_clicks[i] += 1
            new_pred = predict()
            # stopped objects keep their last prediction and IoU
            pred[active] = new_pred[active]
            iou = mask_iou(gt, pred, ignore)  # float64, as RITM's get_iou
            ious[:, k] = iou
            if stop_iou is not None:
                active &= ~(iou >= stop_iou)
            if not active.any():
                ious[:, k + 1:] = ious[:, k:k + 1]
                break
        return dict(ious=ious, num_clicks=num_clicks, clicks=clicks)

    # protocol == 'seem'
    stop = np.float32(SEEM_STOP_IOU)
    for k in range(max_clicks):
        # IoU gate (>= 0.925: no click) on the previous round's prediction
        proposal = next_clicks(gt, pred, clicked, SEEM_RULE)
        for i in np.flatnonzero(proposal.needs_click):
            c = proposal.clicks[i]
            clicks[i].append(c)
            num_clicks[i] += 1
            pos, neg = clicks_to_masks([c], (hgt, wid), SEEM_CLICK_RADIUS)
            clicked[i] |= pos | neg
        pred = predict()
        iou = mask_iou(gt, pred, ignore, np.float32)  # SEEM's float32 IoU
        ious[:, k] = iou
        if (iou > stop).all():
            ious[:, k + 1:] = iou[:, None]
            break
    return dict(ious=ious, num_clicks=num_clicks, clicks=clicks)
