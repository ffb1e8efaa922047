"""User-level visual prompts for SEEM's visual sampler.

SEEM-specific, not in mmdet/mmseg: SEEM's decoder takes every visual
prompt (click, box, scribble, polygon, mask) as a pair of binary masks per
object, a *positive* mask ``spatial_query_pos_mask`` and a *negative* mask
``spatial_query_neg_mask``, each ``[P, Hp, Wp]`` at the padded batch size.
Its visual sampler then samples up to ``max_spatial_len`` pixels of each
mask and pools ``mask_features`` there to build the spatial queries.

:class:`VisualPrompts` stores the prompts of one image of size ``(H, W)`` as
geometric primitives (so that :meth:`VisualPrompts.rescale` re-draws them
exactly), rasterises them into ``pos_masks`` / ``neg_masks`` (``[P, H, W]``
bool) and validates them strictly.

Conventions (decisions, documented here once):

* Coordinates are continuous pixel coordinates in ``(x, y)`` order: pixel
  ``(row, col)`` covers ``[col, col + 1) x [row, row + 1)``, the image spans
  ``[0, W] x [0, H]``. A coordinate outside that range is an error unless
  ``clip=True`` (then it is clamped to the border).
* Clicks (points): the official corrective click is one pixel dilated by a
  ``3 x 3`` all-ones kernel (``seem_model_v1.py``
  ``prepare_next_spaital_mask``, ``dilation = 3``), i.e. a ``3 x 3``
  square. ``from_points`` draws a click at pixel ``(floor(y), floor(x))``
  as a ``(2r+1) x (2r+1)`` square by default
  (``radius=1`` reproduces the official click), or as a disk
  ``dy^2 + dx^2 <= r^2`` with ``click_shape='disk'``.
* Boxes: the official v1 training sampler has no boxes; its evaluation
  ``SimpleClickSampler.forward_box`` fills ``gt[y1:y2, x1:x2]``. We do the
  same: the positive mask of an ``xyxy`` box is rows
  ``floor(y1):ceil(y2)`` and columns ``floor(x1):ceil(x2)`` (at least one
  pixel), so an integer box covers exactly its interior ``[y1:y2, x1:x2]``.
* Scribbles are polylines drawn with ``cv2.polylines`` of a given
  ``thickness``; polygons are filled with ``cv2.fillPoly``. Vertices are
  rounded down to integer pixels (cv2 draws on pixel centres).
* Masks are binary ``[P, H, W]``; another size is an error unless
  ``resize=True`` (nearest-neighbour).
* Negative-only prompts (no positive pixel): the official pipeline never
  builds one on purpose -- every prompt starts from a positive shape and
  negative clicks are only added by the corrective rounds; the decoder
  replaces the pooled positive feature of a prompt without positive pixels
  by a constant ``-1`` vector (``modeling/interface/seem_v1.py``), i.e. the
  query carries no information about the object. We therefore raise by
  default and allow them with a warning when ``allow_negative_only=True``.
* Positive and negative pixels of one prompt may overlap (e.g. a negative
  click inside a positive box); both are kept, as the decoder samples both.
"""
import math
import warnings
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]

__all__ = ['VisualPrompts', 'click_mask']

_FIX_COORDS = ('coordinates are (x, y) in pixels of the image the prompts '
               'belong to; fix them, or pass clip=True to clamp them to the '
               'image border')


def _to_numpy(x, what: str) -> np.ndarray:
    """Convert a tensor / array / nested list to a float64 array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f'{what} must be numeric (a tensor, array or list of numbers); '
            f'could not convert it: {err}') from None


def _check_size(image_size) -> Tuple[int, int]:
    try:
        h, w = (int(v) for v in image_size)
        ok = (h, w) == tuple(image_size) and h > 0 and w > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f'image_size must be a pair of positive ints (H, W); got '
            f'{image_size!r}')
    return h, w


def _check_finite(arr: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f'{what} contains NaN or infinite coordinates: '
                         f'{arr.tolist()}; remove or fix them')


def _check_inside(xy: np.ndarray,
                  size: Tuple[int, int],
                  what: str,
                  clip: bool,
                  noun: str = 'vertex') -> np.ndarray:
    """Check / clamp ``[K, 2]`` xy coordinates against ``[0, W] x [0, H]``."""
    h, w = size
    if clip:
        out = xy.copy()
        out[:, 0] = out[:, 0].clip(0, w)
        out[:, 1] = out[:, 1].clip(0, h)
        return out
    bad = (xy[:, 0] < 0) | (xy[:, 0] > w) | (xy[:, 1] < 0) | (xy[:, 1] > h)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f'{what}: {noun} {k} at (x={xy[k, 0]:g}, y={xy[k, 1]:g}) '
            f'lies outside the image of size (H={h}, W={w}); valid x is in '
            f'[0, {w}] and y in [0, {h}]; {_FIX_COORDS}')
    return xy


def _check_labels(labels, n: int, what: str) -> np.ndarray:
    """Labels of ``n`` elements: 1 = positive, 0 = negative."""
    if labels is None:
        return np.ones(n, dtype=bool)
    arr = _to_numpy(labels, f'{what} labels').reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(
            f'{what}: got {arr.shape[0]} labels for {n} elements; give one '
            f'label (1 positive, 0 negative) per element')
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise ValueError(
            f'{what}: labels must be 1 (positive) or 0 (negative); got '
            f'{arr[bad][0]:g} (use 0, not -1, for a negative prompt)')
    return arr.astype(bool)


def click_mask(y: int,
               x: int,
               size: Tuple[int, int],
               radius: int = 1,
               shape: str = 'square') -> np.ndarray:
    """Binary ``[H, W]`` mask of one click at pixel ``(y, x)``.

    ``shape='square'`` with ``radius=1`` is the official ``3 x 3`` dilation
    of a clicked pixel; ``'disk'`` keeps pixels with ``dy^2+dx^2 <= r^2``.
    """
    h, w = size
    out = np.zeros((h, w), dtype=bool)
    y0, y1 = max(y - radius, 0), min(y + radius + 1, h)
    x0, x1 = max(x - radius, 0), min(x + radius + 1, w)
    if shape == 'square':
        out[y0:y1, x0:x1] = True
    elif shape == 'disk':
        yy, xx = np.mgrid[y0:y1, x0:x1]
        out[y0:y1, x0:x1] = (yy - y)**2 + (xx - x)**2 <= radius**2
    else:
        raise ValueError(
            f"click_shape must be 'square' or 'disk'; got {shape!r}")
    return out


@dataclass(frozen=True)
class _Primitive:
    """One drawn element of a prompt (a click, box, stroke, polygon, mask)."""
    kind: str
    positive: bool
    data: np.ndarray  # xy [K, 2] / xyxy [4] / bool mask [H0, W0]
    size: int = 0  # click radius or stroke thickness, in pixels
    style: str = 'square'  # click footprint


def _pixel(v: float, n: int) -> int:
    return min(max(int(math.floor(v)), 0), n - 1)


def _draw(prim: _Primitive, size: Tuple[int, int]) -> np.ndarray:
    """Rasterise one primitive into a bool ``[H, W]`` mask."""
    h, w = size
    if prim.kind == 'point':
        x, y = prim.data[0]
        return click_mask(_pixel(y, h), _pixel(x, w), size, prim.size,
                          prim.style)
    if prim.kind == 'box':
        x1, y1, x2, y2 = prim.data
        c0, r0 = _pixel(x1, w), _pixel(y1, h)
        c1 = min(max(int(math.ceil(x2)), c0 + 1), w)
        r1 = min(max(int(math.ceil(y2)), r0 + 1), h)
        out = np.zeros((h, w), dtype=bool)
        out[r0:r1, c0:c1] = True
        return out
    if prim.kind == 'mask':
        m = prim.data
        if m.shape != (h, w):
            m = cv2.resize(m.astype(np.uint8), (w, h),
                           interpolation=cv2.INTER_NEAREST) > 0
        return m.copy()
    canvas = np.zeros((h, w), dtype=np.uint8)
    cols = np.floor(prim.data[:, 0]).clip(0, w - 1)
    rows = np.floor(prim.data[:, 1]).clip(0, h - 1)
    pts = np.stack([cols, rows], axis=1).astype(np.int32)
    if prim.kind == 'polygon':
        cv2.fillPoly(canvas, [pts], 1)
    elif len(pts) == 1:  # a one-vertex scribble is a dot of the same width
        cv2.circle(canvas, tuple(int(v) for v in pts[0]),
                   max(prim.size // 2, 0), 1, -1)
    else:
        cv2.polylines(canvas, [pts], False, 1, thickness=prim.size)
    return canvas > 0


def _split_per_prompt(x, what: str, item_shape: str) -> List[np.ndarray]:
    """A ``[P, ...]`` tensor/array or a list of P arrays -> list of arrays."""
    if isinstance(x, (list, tuple)):
        return [
            None if v is None else _to_numpy(v, f'{what} of prompt {i}')
            for i, v in enumerate(x)
        ]
    arr = _to_numpy(x, what)
    if arr.ndim < 1:
        raise ValueError(f'{what} must be [P, {item_shape}] or a list of P '
                         f'[{item_shape}] items; got a scalar')
    return list(arr)


class VisualPrompts:
    """Visual prompts (one per object) of one image, as pos/neg masks.

    Args:
        image_size (tuple[int, int]): ``(H, W)`` of the image.
        prompts (list[list[_Primitive]]): per prompt, its primitives; use the
            ``from_*`` constructors or :meth:`build` rather than this.
        allow_negative_only (bool): allow prompts without positive pixels
            (with a warning). Defaults to False (error); see module doc.

    Attributes:
        pos_masks (Tensor): ``[P, H, W]`` bool positive masks.
        neg_masks (Tensor): ``[P, H, W]`` bool negative masks.
    """

    def __init__(self,
                 image_size: Tuple[int, int],
                 prompts: Optional[List[List[_Primitive]]] = None,
                 allow_negative_only: bool = False):
        self.image_size = _check_size(image_size)
        self.prompts = [list(p) for p in (prompts or [])]
        self.allow_negative_only = allow_negative_only
        self.pos_masks, self.neg_masks = self._rasterise()

    # ------------------------------------------------------------------
    # rasterisation and validation
    def _rasterise(self) -> Tuple[torch.Tensor, torch.Tensor]:
        h, w = self.image_size
        pos = np.zeros((len(self.prompts), h, w), dtype=bool)
        neg = np.zeros_like(pos)
        for i, prims in enumerate(self.prompts):
            for prim in prims:
                target = pos if prim.positive else neg
                target[i] |= _draw(prim, self.image_size)
        has_pos = pos.reshape(len(pos), -1).any(1)
        has_neg = neg.reshape(len(neg), -1).any(1)
        empty = np.flatnonzero(~has_pos & ~has_neg)
        if len(empty):
            raise ValueError(
                f'prompt {int(empty[0])} is empty (its masks have no pixel '
                f'set; prompts {empty.tolist()} are empty); give every '
                f'prompt at least one click/box/scribble/polygon or a '
                f'non-zero mask, or drop it')
        neg_only = np.flatnonzero(~has_pos & has_neg)
        if len(neg_only):
            msg = (f'prompts {neg_only.tolist()} are negative-only (no '
                   f'positive pixel): SEEM pools no feature for their '
                   f'positive query, so they do not point at an object')
            if not self.allow_negative_only:
                raise ValueError(
                    msg + '; add a positive click/box/scribble to each, or '
                    'pass allow_negative_only=True to accept them')
            warnings.warn(msg, UserWarning)
        return torch.from_numpy(pos), torch.from_numpy(neg)

    def __len__(self) -> int:
        return len(self.prompts)

    def __repr__(self) -> str:
        kinds = [sorted({p.kind for p in prims}) for prims in self.prompts]
        return (f'{self.__class__.__name__}(num_prompts={len(self)}, '
                f'image_size={self.image_size}, kinds={kinds})')

    @property
    def kinds(self) -> List[List[str]]:
        """Per prompt, the sorted kinds of its primitives."""
        return [sorted({p.kind for p in prims}) for prims in self.prompts]

    # ------------------------------------------------------------------
    # per-kind primitive builders (no emptiness check; shared by build())
    @staticmethod
    def _point_prims(points, labels, size, radius, click_shape, clip):
        if isinstance(points, (np.ndarray, torch.Tensor)):
            arr = _to_numpy(points, 'points')
            if arr.ndim != 3 or arr.shape[-1] != 2:
                hint = (' (for one click per prompt use points[:, None], for '
                        'one prompt with N clicks use points[None])'
                        if arr.ndim == 2 and arr.shape[-1] == 2 else '')
                raise ValueError(
                    f'points must have shape [P, N, 2] (x, y) or be a list '
                    f'of P arrays [N_i, 2]; got shape {tuple(arr.shape)}'
                    f'{hint}')
        per_prompt = _split_per_prompt(points, 'points', 'N_i, 2')
        if labels is None:
            per_labels = [None] * len(per_prompt)
        else:
            per_labels = _split_per_prompt(labels, 'point labels', 'N_i')
            if len(per_labels) != len(per_prompt):
                raise ValueError(
                    f'got point labels for {len(per_labels)} prompts but '
                    f'points for {len(per_prompt)}; give one label list per '
                    f'prompt')
        if click_shape not in ('square', 'disk'):
            raise ValueError(
                f"click_shape must be 'square' or 'disk'; got {click_shape!r}")
        if int(radius) != radius or radius < 0:
            raise ValueError(
                f'radius must be a non-negative int (pixels); got {radius}')
        out = []
        for i, (pts, lab) in enumerate(zip(per_prompt, per_labels)):
            if pts is None:
                out.append([])
                continue
            what = f'points of prompt {i}'
            if pts.ndim != 2 or pts.shape[-1] != 2:
                raise ValueError(
                    f'{what} must have shape [N_i, 2] (x, y); got shape '
                    f'{tuple(pts.shape)}')
            _check_finite(pts, what)
            pts = _check_inside(pts, size, what, clip, 'point')
            lab = _check_labels(lab, len(pts), what)
            out.append([
                _Primitive('point', bool(lb), p[None].copy(), int(radius),
                           click_shape) for p, lb in zip(pts, lab)
            ])
        return out

    @staticmethod
    def _box_prims(boxes, size, clip):
        if isinstance(boxes, (np.ndarray, torch.Tensor)):
            arr = _to_numpy(boxes, 'boxes')
            if arr.ndim != 2 or arr.shape[-1] != 4:
                raise ValueError(
                    f'boxes must have shape [P, 4] (x1, y1, x2, y2); got '
                    f'shape {tuple(arr.shape)}')
        h, w = size
        out = []
        for i, box in enumerate(_split_per_prompt(boxes, 'boxes', '4')):
            if box is None:
                out.append([])
                continue
            what = f'box of prompt {i}'
            if box.shape != (4, ):
                raise ValueError(f'{what} must be (x1, y1, x2, y2); got shape '
                                 f'{tuple(box.shape)}')
            _check_finite(box, what)
            x1, y1, x2, y2 = box
            if x2 < x1 or y2 < y1:
                raise ValueError(
                    f'{what} {box.tolist()} has x2 < x1 or y2 < y1; boxes '
                    f'are (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2 '
                    f'(convert xywh boxes with x2 = x1 + w)')
            if clip and (x1 > w or y1 > h or x2 < 0 or y2 < 0):
                raise ValueError(
                    f'{what} {box.tolist()} lies entirely outside the image '
                    f'of size (H={h}, W={w}); clip=True cannot rescue it')
            xy = _check_inside(box.reshape(2, 2), size, what, clip, 'corner')
            out.append([_Primitive('box', True, xy.reshape(4).copy())])
        return out

    @staticmethod
    def _stroke_prims(strokes, labels, size, kind, thickness, clip):
        """Scribbles / polygons: per prompt one [K, 2] or a list of them."""
        if not isinstance(strokes, (list, tuple)):
            arr = _to_numpy(strokes, f'{kind}s')
            if arr.ndim != 3 or arr.shape[-1] != 2:
                raise ValueError(
                    f'{kind}s must be a list (one per prompt) of [K, 2] xy '
                    f'vertex arrays (or lists of them), or a [P, K, 2] '
                    f'array; got shape {tuple(arr.shape)}')
            strokes = list(arr)
        if labels is not None and len(labels) != len(strokes):
            raise ValueError(
                f'got {kind} labels for {len(labels)} prompts but {kind}s '
                f'for {len(strokes)}; give one label per prompt')
        if kind == 'scribble' and (int(thickness) != thickness
                                   or thickness < 1):
            raise ValueError(
                f'thickness must be a positive int (pixels); got {thickness}')
        min_k = 3 if kind == 'polygon' else 1
        out = []
        for i, item in enumerate(strokes):
            if item is None:
                out.append([])
                continue
            what = f'{kind} of prompt {i}'
            nested = (isinstance(item, (list, tuple)) and len(item) > 0
                      and np.ndim(_to_numpy(item[0], what)) == 2)
            if nested:
                parts = [_to_numpy(p, what) for p in item]
            else:
                parts = [_to_numpy(item, what)]
            lab = _check_labels(None if labels is None else [labels[i]], 1,
                                what)[0]
            prims = []
            for j, xy in enumerate(parts):
                name = f'{what} (part {j})' if len(parts) > 1 else what
                if xy.ndim != 2 or xy.shape[-1] != 2 or len(xy) < min_k:
                    raise ValueError(
                        f'{name} must be a [K, 2] array of (x, y) vertices '
                        f'with K >= {min_k}; got shape {tuple(xy.shape)}')
                _check_finite(xy, name)
                xy = _check_inside(xy, size, name, clip)
                prims.append(
                    _Primitive(kind, bool(lab), xy.copy(), int(thickness)))
            out.append(prims)
        return out

    @staticmethod
    def _mask_prims(masks, size, resize, positive=True):
        if isinstance(masks, torch.Tensor):
            masks = masks.detach().cpu().numpy()
        what = 'masks' if positive else 'neg_masks'
        if isinstance(masks, (list, tuple)):
            masks = [None if m is None else np.asarray(m) for m in masks]
        else:
            masks = np.asarray(masks)
            if masks.ndim != 3:
                raise ValueError(
                    f'{what} must have shape [P, H, W]; got shape '
                    f'{tuple(masks.shape)} (use mask[None] for one prompt)')
        h, w = size
        out = []
        for i, m in enumerate(masks):
            if m is None:
                out.append([])
                continue
            name = f'{what[:-1]} of prompt {i}'
            if m.ndim != 2:
                raise ValueError(f'{name} must be [H, W]; got shape '
                                 f'{tuple(m.shape)}')
            if m.dtype != bool:
                if not np.issubdtype(m.dtype, np.number):
                    raise TypeError(f'{name} must be numeric or bool; got '
                                    f'dtype {m.dtype}')
                bad = ~np.isin(m, (0, 1))
                if bad.any():
                    raise ValueError(
                        f'{name} is not binary: it has values other than '
                        f'0/1 (e.g. {m[bad].reshape(-1)[0]}); pass a bool '
                        f'mask or binarise it first, e.g. mask > 0 or '
                        f'mask > 127 for an 8-bit image')
                m = m.astype(bool)
            if tuple(m.shape) != (h, w) and not resize:
                raise ValueError(
                    f'{name} has size (H={m.shape[0]}, W={m.shape[1]}) but '
                    f'the image has size (H={h}, W={w}); resize the mask to '
                    f'the image, or pass resize=True for nearest-neighbour '
                    f'resizing')
            out.append([_Primitive('mask', positive, m.copy())])
        return out

    # ------------------------------------------------------------------
    # public constructors
    @classmethod
    def from_points(cls,
                    points: ArrayLike,
                    labels: Optional[ArrayLike] = None,
                    image_size: Tuple[int, int] = None,
                    radius: int = 1,
                    click_shape: str = 'square',
                    clip: bool = False,
                    allow_negative_only: bool = False) -> 'VisualPrompts':
        """Clicks: ``[P, N, 2]`` or P arrays ``[N_i, 2]`` of xy pixels.

        ``labels`` (same layout, 1 positive / 0 negative; default all 1).
        Each click is a ``(2*radius+1)`` square (or disk) around pixel
        ``(floor(y), floor(x))``.
        """
        return cls.build(image_size,
                         points=points,
                         point_labels=labels,
                         radius=radius,
                         click_shape=click_shape,
                         clip=clip,
                         allow_negative_only=allow_negative_only)

    @classmethod
    def from_boxes(cls,
                   boxes: ArrayLike,
                   image_size: Tuple[int, int],
                   clip: bool = False) -> 'VisualPrompts':
        """Boxes ``[P, 4]`` xyxy in pixels -> filled positive masks."""
        return cls.build(image_size, boxes=boxes, clip=clip)

    @classmethod
    def from_scribbles(cls,
                       scribbles: Sequence,
                       image_size: Tuple[int, int],
                       labels: Optional[Sequence] = None,
                       thickness: int = 3,
                       clip: bool = False,
                       allow_negative_only: bool = False) -> 'VisualPrompts':
        """Scribbles: per prompt one polyline ``[K, 2]`` (or a list of them).

        ``labels``: one 1/0 per prompt (default positive).
        """
        return cls.build(image_size,
                         scribbles=scribbles,
                         scribble_labels=labels,
                         thickness=thickness,
                         clip=clip,
                         allow_negative_only=allow_negative_only)

    @classmethod
    def from_polygons(cls,
                      polygons: Sequence,
                      image_size: Tuple[int, int],
                      labels: Optional[Sequence] = None,
                      clip: bool = False,
                      allow_negative_only: bool = False) -> 'VisualPrompts':
        """Polygons: per prompt one ``[K>=3, 2]`` xy ring (or a list)."""
        return cls.build(image_size,
                         polygons=polygons,
                         polygon_labels=labels,
                         clip=clip,
                         allow_negative_only=allow_negative_only)

    @classmethod
    def from_masks(cls,
                   masks: ArrayLike,
                   image_size: Optional[Tuple[int, int]] = None,
                   neg_masks: Optional[ArrayLike] = None,
                   resize: bool = False,
                   allow_negative_only: bool = False) -> 'VisualPrompts':
        """Binary masks ``[P, H, W]`` (and optional negative masks)."""
        if image_size is None:
            arr = masks.shape if hasattr(masks, 'shape') else None
            if arr is None or len(arr) != 3:
                raise ValueError(
                    'pass image_size=(H, W) when masks is not a [P, H, W] '
                    'tensor/array')
            image_size = tuple(int(v) for v in arr[1:])
        return cls.build(image_size,
                         masks=masks,
                         neg_masks=neg_masks,
                         resize_masks=resize,
                         allow_negative_only=allow_negative_only)

    @classmethod
    def build(cls,
              image_size: Tuple[int, int],
              points: Optional[ArrayLike] = None,
              point_labels: Optional[ArrayLike] = None,
              boxes: Optional[ArrayLike] = None,
              scribbles: Optional[Sequence] = None,
              scribble_labels: Optional[Sequence] = None,
              polygons: Optional[Sequence] = None,
              polygon_labels: Optional[Sequence] = None,
              masks: Optional[ArrayLike] = None,
              neg_masks: Optional[ArrayLike] = None,
              radius: int = 1,
              click_shape: str = 'square',
              thickness: int = 3,
              clip: bool = False,
              resize_masks: bool = False,
              allow_negative_only: bool = False) -> 'VisualPrompts':
        """Combine several prompt kinds, one prompt per object.

        Every given kind must describe the same number P of prompts; prompt
        ``i`` is the union of the i-th entry of every kind (e.g. a box and a
        negative click for the same object). In list inputs an entry may be
        ``None`` (or have 0 points) when that prompt has no element of that
        kind.
        """
        size = _check_size(image_size)
        parts = {}
        if points is not None:
            parts['points'] = cls._point_prims(points, point_labels, size,
                                               radius, click_shape, clip)
        elif point_labels is not None:
            raise ValueError('point_labels given without points')
        if boxes is not None:
            parts['boxes'] = cls._box_prims(boxes, size, clip)
        if scribbles is not None:
            parts['scribbles'] = cls._stroke_prims(scribbles, scribble_labels,
                                                   size, 'scribble', thickness,
                                                   clip)
        if polygons is not None:
            parts['polygons'] = cls._stroke_prims(polygons, polygon_labels,
                                                  size, 'polygon', 0, clip)
        if masks is not None:
            parts['masks'] = cls._mask_prims(masks, size, resize_masks)
        if neg_masks is not None:
            parts['neg_masks'] = cls._mask_prims(neg_masks,
                                                 size,
                                                 resize_masks,
                                                 positive=False)
        if not parts:
            raise ValueError(
                'no prompt given: pass at least one of points, boxes, '
                'scribbles, polygons, masks')
        counts = {k: len(v) for k, v in parts.items()}
        if len(set(counts.values())) != 1:
            raise ValueError(
                f'every prompt kind must describe the same number of prompts '
                f'(one prompt per object); got {counts}; pad a list with '
                f'None for prompts without that kind')
        num = next(iter(counts.values()))
        prompts = [[p for v in parts.values() for p in v[i]]
                   for i in range(num)]
        return cls(size, prompts, allow_negative_only=allow_negative_only)

    # ------------------------------------------------------------------
    # combination and transforms
    def _check_same_image(self, other: 'VisualPrompts') -> None:
        if not isinstance(other, VisualPrompts):
            raise TypeError(f'expected VisualPrompts; got {type(other)}')
        if other.image_size != self.image_size:
            raise ValueError(
                f'cannot combine prompts of images of size {self.image_size} '
                f'and {other.image_size}; rescale one of them first')

    def merge(self, other: 'VisualPrompts') -> 'VisualPrompts':
        """Per-prompt union: prompt i = ``self[i]`` U ``other[i]``."""
        self._check_same_image(other)
        if len(other) != len(self):
            raise ValueError(
                f'merge() unions prompt i of both sets (one prompt per '
                f'object), so both need the same number of prompts; got '
                f'{len(self)} and {len(other)}; use VisualPrompts.cat() to '
                f'append objects instead')
        prompts = [a + b for a, b in zip(self.prompts, other.prompts)]
        return VisualPrompts(
            self.image_size, prompts, self.allow_negative_only
            or other.allow_negative_only)

    @staticmethod
    def cat(prompt_sets: Sequence['VisualPrompts']) -> 'VisualPrompts':
        """Concatenate prompt sets of the same image (more objects)."""
        if not prompt_sets:
            raise ValueError('cat() needs at least one VisualPrompts')
        first = prompt_sets[0]
        for other in prompt_sets[1:]:
            first._check_same_image(other)
        prompts = [p for s in prompt_sets for p in s.prompts]
        return VisualPrompts(first.image_size, prompts,
                             any(s.allow_negative_only for s in prompt_sets))

    def rescale(self,
                scale: Union[float, Tuple[float, float]],
                new_size: Optional[Tuple[int, int]] = None) -> 'VisualPrompts':
        """Prompts for the image resized by ``scale``.

        Args:
            scale (float | tuple[float, float]): one factor, or
                ``(w_scale, h_scale)`` as mmcv's ``scale_factor``.
            new_size (tuple[int, int], optional): the resized image's
                ``(H, W)``; defaults to ``int(H * h_scale + 0.5)``, as mmcv.

        Points, boxes, scribbles and polygons are scaled (click radius and
        stroke thickness stay in pixels, as a user draws them on screen);
        masks are resized with nearest-neighbour interpolation.
        """
        if np.isscalar(scale):
            ws = hs = float(scale)
        else:
            ws, hs = (float(v) for v in scale)
        if not (ws > 0 and hs > 0 and math.isfinite(ws) and math.isfinite(hs)):
            raise ValueError(f'scale must be positive and finite; got {scale}')
        h, w = self.image_size
        if new_size is None:
            new_size = (int(h * hs + 0.5), int(w * ws + 0.5))
        nh, nw = _check_size(new_size)
        prompts = []
        for prims in self.prompts:
            new = []
            for p in prims:
                if p.kind == 'mask':
                    new.append(p)
                    continue
                xy = p.data.reshape(-1, 2) * (ws, hs)
                xy[:, 0] = xy[:, 0].clip(0, nw)
                xy[:, 1] = xy[:, 1].clip(0, nh)
                new.append(replace(p, data=xy.reshape(p.data.shape)))
            prompts.append(new)
        return VisualPrompts((nh, nw), prompts, self.allow_negative_only)

    def to_tensors(
        self,
        pad_to: Optional[Tuple[int, int]] = None,
        device: Union[str, torch.device, None] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(pos_masks, neg_masks)``, each ``[P, Hp, Wp]`` bool.

        Zero-padded at the bottom/right to ``pad_to`` = the padded batch
        size (the data preprocessor pads images bottom/right, e.g. to a
        multiple of 32), as SEEM's visual sampler expects.
        """
        h, w = self.image_size
        hp, wp = (h, w) if pad_to is None else _check_size(pad_to)
        if hp < h or wp < w:
            raise ValueError(
                f'pad_to (H={hp}, W={wp}) is smaller than the image size '
                f'(H={h}, W={w}); pad_to must be the padded batch size, '
                f'at least the image size')
        out = []
        for m in (self.pos_masks, self.neg_masks):
            padded = m.new_zeros((len(m), hp, wp))
            padded[:, :h, :w] = m
            out.append(padded.to(device) if device is not None else padded)
        return out[0], out[1]
