"""The corrective-click rule: where a simulated user clicks next.

SEEM-specific, not in mmdet/mmseg (OpenMMLab simulates no clicks). This one
module is the rule used by the training prompt simulator
(:class:`mmseem.models.task_modules.InteractivePromptSimulator`) and by both
click-evaluation protocols (:mod:`mmseem.evaluation.functional.
click_protocols`); a :class:`ClickRule` names the variant each of them
specifies. For every object of a batch (masks bool ``[N, H, W]``):

1. Error regions: false negatives ``FN = gt & ~pred`` and false positives
   ``FP = ~gt & pred``, both restricted to ``not_ignore`` when given.
   Earlier clicks either leave the regions (``clicked='region'``) or keep
   their place in them but get distance 0 (``clicked='distance'``).
2. Depth: a distance transform (DT) of each region zero-padded by one pixel,
   so the image border counts as boundary; ``distance='exact'`` is the
   exact Euclidean DT, ``distance='kornia'`` the approximate cascaded
   soft-min DT of kornia 0.7.0 (:func:`cascaded_distance_transform`).
3. Polarity (strict, ties negative): ``polarity='area'`` clicks positive iff
   ``|FN| > |FP|``; ``polarity='depth'`` iff ``max DT(FN) > max DT(FP)``.
4. The click is the first (row-major) maximum of the chosen region's DT; an
   all-zero DT (nothing left to click) gives pixel ``(0, 0)``, as the
   ``argmax`` / ``np.where(...)[0]`` of both official codes does.
5. ``keep_iou``: an object whose IoU ``|gt & pred| / (|gt | pred| + 1e-8)``
   (all pixels, float32 as official torch code computes it) is already
   ``>= keep_iou`` needs no click.

The two variants:

* :data:`SEEM_RULE` -- SEEM v1 ``modeling/architectures/seem_model_v1.py``
  ``prepare_next_spaital_mask``, used by SEEM's training rounds *and* its
  interactive evaluation: ``fn = gt & ~(gt & pred) & ~prev`` (``prev`` =
  earlier prompt masks, i.e. ``clicked='region'``), ``is_postive = fn_sum >
  fp_sum`` (``'area'``), ``kornia.contrib.distance_transform`` of
  ``~pad(select_mask, 1)`` with kornia pinned to 0.7.0
  (``assets/requirements/requirements.txt``), ``keep = iou < 0.925``.
* :data:`RITM_RULE` -- the standard NoC protocol of RITM
  (``isegm/inference/clicker.py`` ``Clicker._get_next_click``) and
  SimpleClick (same file): ``cv2.distanceTransform(pad(mask), DIST_L2, 0)``
  (mask size 0 = ``DIST_MASK_PRECISE``, exact; here scipy's EDT: the same
  distances, in float64), ``dt * not_clicked_map`` (``clicked='distance'``, one pixel per
  click), ``is_positive = fn_max_dist > fp_max_dist`` (``'depth'``), ignore
  pixels out of both regions, no IoU gate.
"""
from dataclasses import dataclass, replace
from typing import List, NamedTuple, Optional, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt

__all__ = [
    'Click', 'ClickRule', 'ClickProposal', 'SEEM_RULE', 'RITM_RULE',
    'exact_distance_transform', 'cascaded_distance_transform',
    'distance_transform', 'prompt_iou', 'next_clicks', 'corrective_click',
    'as_bool_tensor'
]

MaskLike = Union[np.ndarray, torch.Tensor]


class Click(NamedTuple):
    """A simulated click at pixel ``(y, x)``; positive = foreground."""
    y: int
    x: int
    is_positive: bool


@dataclass(frozen=True)
class ClickRule:
    """One variant of the corrective-click rule (see the module docstring).

    Args:
        polarity (str): ``'area'`` (|FN| > |FP|, SEEM) or ``'depth'``
            (max DT(FN) > max DT(FP), RITM).
        distance (str): ``'kornia'`` (kornia 0.7.0's approximate DT, SEEM)
            or ``'exact'`` (Euclidean DT, RITM).
        clicked (str): how earlier clicks count: ``'region'`` (they leave
            the error regions, SEEM) or ``'distance'`` (their DT is 0, RITM).
        keep_iou (float, optional): objects with IoU ``>= keep_iou`` need
            no click (SEEM 0.925); None clicks every object.
    """
    polarity: str = 'area'
    distance: str = 'kornia'
    clicked: str = 'region'
    keep_iou: Optional[float] = 0.925

    def __post_init__(self):
        for name, known in (('polarity', ('area', 'depth')),
                            ('distance', ('kornia', 'exact')),
                            ('clicked', ('region', 'distance'))):
            if getattr(self, name) not in known:
                raise ValueError(f'ClickRule.{name} must be one of {known}, '
                                 f'got {getattr(self, name)!r}')
        if self.keep_iou is not None and not 0 < self.keep_iou <= 1:
            raise ValueError(f'ClickRule.keep_iou must be in (0, 1] or None,'
                             f' got {self.keep_iou!r}')


#: SEEM v1 training rounds and interactive evaluation.
SEEM_RULE = ClickRule('area', 'kornia', 'region', 0.925)
#: RITM / SimpleClick standard NoC protocol.
RITM_RULE = ClickRule('depth', 'exact', 'distance', None)


@dataclass
class ClickProposal:
    """The rule's answer for N objects.

    Attributes:
        clicks (list[Click]): one click per object.
        needs_click (np.ndarray): bool [N], IoU below ``rule.keep_iou``
            (all True when the rule has none).
        on_error (np.ndarray): bool [N], the click lies in a non-empty part
            of the chosen error region (False: the DT was all zero and the
            click is the ``(0, 0)`` fallback).
    """
    clicks: List[Click]
    needs_click: np.ndarray
    on_error: np.ndarray


def as_bool_tensor(x: MaskLike, name: str, device=None) -> torch.Tensor:
    """``x`` (numpy / tensor) as a bool tensor, or a TypeError naming it."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f'{name} must be a numpy array or tensor, got '
                        f'{type(x).__name__}')
    if x.dtype != torch.bool:
        raise TypeError(
            f'{name} must be a bool mask; got dtype {x.dtype} (threshold '
            f'it first, e.g. logits.sigmoid() > 0.5 or mask > 0)')
    return x if device is None else x.to(device)


def exact_distance_transform(region: np.ndarray) -> np.ndarray:
    """Exact Euclidean DT of a [H, W] (or [N, H, W]) region, border =
    boundary.

    Each region pixel gets its distance to the nearest non-region pixel,
    the region being first zero-padded by one pixel (RITM ``padding=True``),
    so a region pixel on the image border has distance 1. float64.
    """
    region = np.asarray(region, dtype=bool)
    if region.ndim == 3:
        return np.stack([exact_distance_transform(r) for r in region]) \
            if len(region) else np.zeros(region.shape)
    if region.ndim != 2:
        raise ValueError(f'region must be [H, W] or [N, H, W], got '
                         f'{region.shape}')
    padded = np.pad(region, 1, mode='constant', constant_values=False)
    return distance_transform_edt(padded)[1:-1, 1:-1]


def _soft_min_table(h: float) -> np.ndarray:
    """float32 [256]: kornia's soft-min ``-h * log(conv)`` for each set of
    known 8-neighbours (bit ``j`` = the ``j``-th non-centre offset of the 3x3
    window in row-major order), ``conv`` summed over the 9 offsets in
    row-major order as the convolution sums them."""
    coords = torch.arange(3, dtype=torch.float32) - 1
    weight = torch.exp(torch.hypot(coords[:, None], coords[None, :]) / -h)
    codes = torch.arange(256)
    conv = torch.zeros(256, dtype=torch.float32)
    bit = 0
    for dy in range(3):
        for dx in range(3):
            if (dy, dx) == (1, 1):  # the centre (unknown): adds 0
                known = torch.zeros(256)
            else:
                known = ((codes >> bit) & 1).float()
                bit += 1
            conv = conv + known * weight[dy, dx]
    return (-h * torch.log(conv)).numpy()


def cascaded_distance_transform(region: torch.Tensor,
                                h: float = 0.35) -> torch.Tensor:
    """Approximate DT by cascaded soft-min convolutions (SEEM's choice).

    Gives the values of ``kornia.contrib.distance_transform`` of kornia
    0.7.0 (the version SEEM pins; the DT layer of Pham et al. 2021) with its
    default ``kernel_size=3``, applied as SEEM applies it, to ``~pad(region,
    1)``: for each region pixel an approximate distance to the nearest
    non-region pixel (the one-pixel zero padding makes the image border
    count as boundary).

    kornia's algorithm iterates: a 3x3 kernel ``w = exp(-|offset| / h)``
    convolves the set of known pixels (replicate border), the soft-min
    ``-h * log(conv)`` (``log 0 -> 0``) is positive exactly on the unknown
    pixels with a known 8-neighbour (the centre weight is 1), which form
    ring ``i``, get ``offset_i + cdt`` and become known; ring ``i`` gets
    ``offset_i = (i * 3) // 2`` (kornia 0.7.0's operator precedence; kornia
    >= 0.8.2 uses ``i * (3 // 2)``, PR #3171 -- the old one is kept to match
    SEEM). Ring ``i`` is therefore the set of pixels at chessboard distance
    ``c = i + 1`` from the non-region, and a pixel's known neighbours are
    those with a smaller ``c``. This closed form computes that in one pass
    over each region's bounding box: ``c`` by OpenCV's exact chessboard DT,
    the known-neighbour pattern as an 8-bit code, the soft-min from a
    256-entry table (:func:`_soft_min_table`), all in float32 --
    bit-identical to the iterated convolutions on CPU (checked on random
    masks, ``tests/test_structures/test_click_rule.py``, and against kornia
    0.7.0 itself) but ``O(HW)`` instead of ``O(HW * depth)``. Computed on
    the CPU, returned on the input's device.

    Args:
        region: bool [N, H, W].
        h: kornia's soft-min temperature (0.35).

    Returns:
        float32 [N, H, W] (0 outside the region).
    """
    if region.dim() != 3:
        raise ValueError(
            f'region must be [N, H, W], got {tuple(region.shape)}')
    masks = region.cpu().numpy()
    out = np.zeros(masks.shape, dtype=np.float32)
    table = _soft_min_table(h)
    for k, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if len(rows) == 0:
            continue
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        # the bounding box plus a non-region ring: every region pixel's
        # nearest non-region pixel and 3x3 window lie inside
        crop = np.pad(mask[y0:y1, x0:x1], 1).astype(np.uint8)
        cheb = cv2.distanceTransform(crop, cv2.DIST_C, 3).astype(np.int32)
        hgt, wid = y1 - y0, x1 - x0
        centre = cheb[1:-1, 1:-1]
        code = np.zeros((hgt, wid), dtype=np.uint8)
        bit = 0
        for dy in range(3):
            for dx in range(3):
                if (dy, dx) != (1, 1):
                    known = cheb[dy:dy + hgt, dx:dx + wid] < centre
                    code |= known.astype(np.uint8) << bit
                    bit += 1
        inside = centre > 0
        offset = ((centre[inside] - 1) * 3) // 2
        out[k, y0:y1, x0:x1][inside] = offset.astype(np.float32) + \
            table[code[inside]]
    return torch.from_numpy(out).to(region.device)


def distance_transform(region: torch.Tensor, kind: str) -> torch.Tensor:
    """DT of a bool [N, H, W] region: ``'kornia'`` (float32, on the input's
    device) or ``'exact'`` (float64, computed on the CPU)."""
    if kind == 'kornia':
        return cascaded_distance_transform(region)
    if kind == 'exact':
        return torch.from_numpy(
            exact_distance_transform(region.cpu().numpy())).to(region.device)
    raise ValueError(f"distance must be 'kornia' or 'exact', got {kind!r}")


def prompt_iou(gt: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """float32 [N] IoU ``|gt & pred| / (|gt | pred| + 1e-8)`` of bool
    [N, H, W] masks, computed as SEEM's ``prepare_next_spaital_mask`` does
    (int64 sums, float32 division; an empty union gives 0)."""
    inter = (gt & pred).flatten(1).sum(-1).float()
    union = (gt | pred).flatten(1).sum(-1).float()
    return inter / (union + 1e-8)


def next_clicks(gt: MaskLike,
                pred: MaskLike,
                clicked: Optional[MaskLike] = None,
                rule: ClickRule = SEEM_RULE,
                not_ignore: Optional[MaskLike] = None) -> ClickProposal:
    """Apply the corrective-click ``rule`` to N objects at once.

    Args:
        gt, pred: bool [N, H, W] ground truth and prediction (numpy or
            torch; computed on ``gt``'s device).
        clicked: bool [N, H, W], pixels of each object's earlier clicks
            (SEEM: the dilated click / prompt masks; RITM: clicked pixels).
        rule: the :class:`ClickRule` variant.
        not_ignore: bool [H, W] (or [N, H, W]), False at ignored pixels,
            which then belong to no error region.

    Returns:
        :class:`ClickProposal`.
    """
    gt = as_bool_tensor(gt, 'gt')
    device = gt.device
    pred = as_bool_tensor(pred, 'pred', device)
    if gt.dim() != 3 or pred.shape != gt.shape or 0 in gt.shape[1:]:
        raise ValueError(
            f'gt and pred must be non-empty [N, H, W] masks of one size; got '
            f'{tuple(gt.shape)} and {tuple(pred.shape)} (resize the '
            f'prediction to the GT size)')
    fn = gt & ~pred
    fp = ~gt & pred
    if not_ignore is not None:
        not_ignore = as_bool_tensor(not_ignore, 'not_ignore', device)
        fn, fp = fn & not_ignore, fp & not_ignore
    keep_dt = None
    if clicked is not None:
        clicked = as_bool_tensor(clicked, 'clicked', device)
        if clicked.shape != gt.shape:
            raise ValueError(f'clicked must have the GT shape '
                             f'{tuple(gt.shape)}; got {tuple(clicked.shape)}')
        if rule.clicked == 'region':
            fn, fp = fn & ~clicked, fp & ~clicked
        else:
            keep_dt = ~clicked

    def depth(region):
        dt = distance_transform(region, rule.distance)
        return dt if keep_dt is None else dt * keep_dt

    n = len(gt)
    if n == 0:
        empty = np.zeros(0, dtype=bool)
        return ClickProposal([], empty, empty.copy())
    if rule.polarity == 'area':
        positive = fn.flatten(1).sum(-1) > fp.flatten(1).sum(-1)
        dt = depth(torch.where(positive[:, None, None], fn, fp))
    else:
        fn_dt, fp_dt = depth(fn), depth(fp)
        positive = fn_dt.flatten(1).amax(-1) > fp_dt.flatten(1).amax(-1)
        dt = torch.where(positive[:, None, None], fn_dt, fp_dt)
    flat = dt.reshape(n, -1)
    idx = flat.argmax(-1).cpu().numpy()
    on_error = (flat > 0).any(-1).cpu().numpy()
    ys, xs = np.unravel_index(idx, tuple(gt.shape[1:]))
    positive = positive.cpu().numpy()
    if rule.keep_iou is None:
        needs = np.ones(n, dtype=bool)
    else:
        keep = torch.tensor(rule.keep_iou, dtype=torch.float32)
        needs = (prompt_iou(gt, pred).cpu() < keep).numpy()
    return ClickProposal(
        clicks=[
            Click(int(y), int(x), bool(p))
            for y, x, p in zip(ys, xs, positive)
        ],
        needs_click=needs,
        on_error=on_error)


def corrective_click(
        pred: Union[np.ndarray, torch.Tensor],
        gt: Union[np.ndarray, torch.Tensor],
        prev: Union[np.ndarray, torch.Tensor, None] = None,
        iou_thr: float = 0.925) -> Optional[Tuple[int, int, bool]]:
    """The next simulated click for one prompt (official "best" mode).

    The training simulator's use of :data:`SEEM_RULE` (with
    ``keep_iou=iou_thr``) for a single prompt.

    Args:
        pred (array | Tensor): ``[H, W]`` bool predicted mask.
        gt (array | Tensor): ``[H, W]`` bool ground-truth mask.
        prev (array | Tensor, optional): ``[H, W]`` bool pixels already
            covered by the prompt's positive or negative masks; excluded
            from the error regions.
        iou_thr (float): no click once ``IoU(pred, gt) >= iou_thr``.

    Returns:
        ``(y, x, is_positive)`` or None. The error regions are false
        negatives ``gt & ~pred & ~prev`` and false positives
        ``~gt & pred & ~prev``; the click is positive iff the false-negative
        area is strictly larger (ties go negative, as official), and lies at
        the maximum of kornia 0.7.0's approximate distance transform of the
        chosen region (image border counts as outside the region; first
        maximum in row-major order). None when the IoU is high enough or the
        chosen region is empty (official would then click pixel (0, 0)).
    """
    gt = as_bool_tensor(gt, 'gt')
    pred = as_bool_tensor(pred, 'pred', gt.device)
    if pred.dim() != 2 or pred.shape != gt.shape:
        raise ValueError(
            f'pred and gt must be [H, W] masks of one size; got '
            f'{tuple(pred.shape)} and {tuple(gt.shape)} (resize pred to the '
            f'GT size)')
    if prev is not None:
        prev = as_bool_tensor(prev, 'prev', gt.device)[None]
    rule = replace(SEEM_RULE, keep_iou=iou_thr)
    proposal = next_clicks(gt[None], pred[None], prev, rule)
    if not (proposal.needs_click[0] and proposal.on_error[0]):
        return None
    return tuple(proposal.clicks[0])
