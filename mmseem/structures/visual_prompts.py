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
from dataclasses import replace
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .prompt_primitives import (Primitive, box_primitives, check_size,
                                click_mask, draw_primitive, mask_primitives,
                                point_primitives, stroke_primitives)

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]

__all__ = ['VisualPrompts', 'click_mask']

class VisualPrompts:
    """Visual prompts (one per object) of one image, as pos/neg masks.

    Args:
        image_size (tuple[int, int]): ``(H, W)`` of the image.
        prompts (list[list[Primitive]]): per prompt, its primitives; use the
            ``from_*`` constructors or :meth:`build` rather than this.
        allow_negative_only (bool): allow prompts without positive pixels
            (with a warning). Defaults to False (error); see module doc.

    Attributes:
        pos_masks (Tensor): ``[P, H, W]`` bool positive masks.
        neg_masks (Tensor): ``[P, H, W]`` bool negative masks.
    """

    def __init__(self,
                 image_size: Tuple[int, int],
                 prompts: Optional[List[List[Primitive]]] = None,
                 allow_negative_only: bool = False):
        self.image_size = check_size(image_size)
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
                target[i] |= draw_primitive(prim, self.image_size)
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
        size = check_size(image_size)
        parts = {}
        if points is not None:
            parts['points'] = point_primitives(points, point_labels, size,
                                               radius, click_shape, clip)
        elif point_labels is not None:
            raise ValueError('point_labels given without points')
        if boxes is not None:
            parts['boxes'] = box_primitives(boxes, size, clip)
        if scribbles is not None:
            parts['scribbles'] = stroke_primitives(scribbles, scribble_labels,
                                                   size, 'scribble', thickness,
                                                   clip)
        if polygons is not None:
            parts['polygons'] = stroke_primitives(polygons, polygon_labels,
                                                  size, 'polygon', 0, clip)
        if masks is not None:
            parts['masks'] = mask_primitives(masks, size, resize_masks)
        if neg_masks is not None:
            parts['neg_masks'] = mask_primitives(neg_masks,
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
        nh, nw = check_size(new_size)
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
        hp, wp = (h, w) if pad_to is None else check_size(pad_to)
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
