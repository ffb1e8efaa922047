"""Prompt primitives: the geometric parts of a visual prompt, drawn.

SEEM-specific, not in mmdet/mmseg. A :class:`Primitive` is one click, box,
scribble, polygon or mask of a prompt, kept as geometry so that
:meth:`~mmseem.structures.VisualPrompts.rescale` can re-draw it exactly;
:func:`draw_primitive` rasterises it (conventions in
:mod:`mmseem.structures.visual_prompts`), :func:`click_mask` is SEEM's
click footprint, and the ``*_primitives`` builders validate user input
(coordinates, labels, mask sizes) and turn it into primitives per prompt.
"""
import math
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np
import torch

__all__ = [
    'Primitive', 'check_size', 'click_mask', 'draw_primitive',
    'point_primitives', 'box_primitives', 'stroke_primitives',
    'mask_primitives'
]

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


def check_size(image_size) -> Tuple[int, int]:
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
class Primitive:
    """One drawn element of a prompt (a click, box, stroke, polygon, mask)."""
    kind: str
    positive: bool
    data: np.ndarray  # xy [K, 2] / xyxy [4] / bool mask [H0, W0]
    size: int = 0  # click radius or stroke thickness, in pixels
    style: str = 'square'  # click footprint


def _pixel(v: float, n: int) -> int:
    return min(max(int(math.floor(v)), 0), n - 1)


def draw_primitive(prim: Primitive, size: Tuple[int, int]) -> np.ndarray:
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



def point_primitives(points, labels, size, radius, click_shape, clip):
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
            Primitive('point', bool(lb), p[None].copy(), int(radius),
                       click_shape) for p, lb in zip(pts, lab)
        ])
    return out

def box_primitives(boxes, size, clip):
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
        out.append([Primitive('box', True, xy.reshape(4).copy())])
    return out

def stroke_primitives(strokes, labels, size, kind, thickness, clip):
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
                Primitive(kind, bool(lab), xy.copy(), int(thickness)))
        out.append(prims)
    return out

def mask_primitives(masks, size, resize, positive=True):
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
        out.append([Primitive('mask', positive, m.copy())])
    return out
