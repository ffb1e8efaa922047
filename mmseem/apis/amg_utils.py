"""Helpers of :class:`SEEMAutomaticMaskGenerator` (SAM-style "segment
everything"): point grids, crop boxes, the stability score, crop-edge
filtering and COCO run-length encoding.

Written after SAM's ``segment_anything/utils/amg.py`` (same definitions, so
settings carry over), on ``pycocotools`` for RLE and mmdet's ``mask2bbox``
for boxes. SAM's boxes keep the last foreground pixel as ``x1`` / ``y1``;
here boxes are mmdet's (``x1`` / ``y1`` one past it), so a COCO ``bbox``
``[x, y, w, h]`` has ``w`` / ``h`` = the mask's pixel extent.
"""
import math
from dataclasses import dataclass, fields
from itertools import product
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = [
    'build_point_grid', 'build_all_layer_point_grids', 'generate_crop_boxes',
    'stability_score', 'mask_confidence', 'is_box_near_crop_edge',
    'mask_to_rle', 'rle_to_mask', 'box_xyxy_to_xywh', 'MaskCandidates'
]


def build_point_grid(n_per_side: int) -> np.ndarray:
    """[n*n, 2] points ``(x, y)`` evenly spaced in (0, 1): cell centres of
    an n x n grid, row-major (y outer), as SAM."""
    if n_per_side < 1:
        raise ValueError(f'points_per_side must be >= 1; got {n_per_side}')
    offset = 1 / (2 * n_per_side)
    side = np.linspace(offset, 1 - offset, n_per_side)
    xs = np.tile(side[None, :], (n_per_side, 1))
    ys = np.tile(side[:, None], (1, n_per_side))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def build_all_layer_point_grids(n_per_side: int, n_layers: int,
                                scale_per_layer: int) -> List[np.ndarray]:
    """Grid of crop layer i: ``int(n_per_side / scale_per_layer**i)`` points
    per side (layer 0 = the whole image)."""
    return [
        build_point_grid(int(n_per_side / (scale_per_layer**i)))
        for i in range(n_layers + 1)
    ]


def generate_crop_boxes(im_size: Tuple[int, int], n_layers: int,
                        overlap_ratio: float
                        ) -> Tuple[List[List[int]], List[int]]:
    """Crop boxes ``[x0, y0, x1, y1]`` and their layer: the whole image
    (layer 0), then for layer i = 1..n a (2^i x 2^i) grid of crops that
    overlap by ``overlap_ratio * short side * 2 / 2^i`` pixels (SAM's)."""
    im_h, im_w = im_size
    boxes, layers = [[0, 0, im_w, im_h]], [0]
    short = min(im_h, im_w)

    def crop_len(orig, n, overlap):
        return int(math.ceil((overlap * (n - 1) + orig) / n))

    for i in range(n_layers):
        n = 2**(i + 1)
        overlap = int(overlap_ratio * short * (2 / n))
        cw, ch = crop_len(im_w, n, overlap), crop_len(im_h, n, overlap)
        x0s = [int((cw - overlap) * k) for k in range(n)]
        y0s = [int((ch - overlap) * k) for k in range(n)]
        for x0, y0 in product(x0s, y0s):
            boxes.append([x0, y0, min(x0 + cw, im_w), min(y0 + ch, im_h)])
            layers.append(i + 1)
    return boxes, layers


def stability_score(logits: Tensor, mask_threshold: float,
                    offset: float) -> Tensor:
    """IoU of the masks ``logits > thr + offset`` and ``logits > thr -
    offset`` ([N, H, W] -> [N]); the first lies inside the second, so it is
    #inner / #outer (1 for an empty outer mask)."""
    inner = (logits > mask_threshold + offset).flatten(1).sum(1)
    outer = (logits > mask_threshold - offset).flatten(1).sum(1)
    return torch.where(outer > 0, inner / outer.clamp(min=1),
                       torch.ones_like(inner, dtype=torch.float))


def mask_confidence(logits: Tensor, mask_threshold: float) -> Tensor:
    """Mean foreground probability inside the binary mask (Mask2Former's
    mask score; 0 for an empty mask): [N, H, W] logits -> [N]."""
    fg = (logits > mask_threshold).flatten(1).float()
    prob = logits.sigmoid().flatten(1)
    return (prob * fg).sum(1) / fg.sum(1).clamp(min=1)


def is_box_near_crop_edge(boxes: Tensor,
                          crop_box: Sequence[int],
                          orig_box: Sequence[int],
                          atol: float = 20.0) -> Tensor:
    """[N] True where an (image-frame) xyxy box touches an edge of the crop
    that is not an edge of the image (the mask was cut by the crop)."""
    crop = torch.as_tensor(crop_box, dtype=torch.float, device=boxes.device)
    orig = torch.as_tensor(orig_box, dtype=torch.float, device=boxes.device)
    boxes = boxes.float()
    near_crop = torch.isclose(boxes, crop[None], atol=atol, rtol=0)
    near_image = torch.isclose(boxes, orig[None], atol=atol, rtol=0)
    return (near_crop & ~near_image).any(1)


def box_xyxy_to_xywh(box: Sequence[float]) -> List[float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


def mask_to_rle(mask: np.ndarray) -> Dict:
    """[H, W] bool -> COCO compressed RLE ``{'size': [H, W], 'counts':
    str}`` (``counts`` decoded to text, ready for ``json.dump``)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('utf-8')
    return rle


def rle_to_mask(rle: Dict) -> np.ndarray:
    """Inverse of :func:`mask_to_rle` (also takes bytes ``counts``)."""
    from pycocotools import mask as mask_utils
    rle = dict(rle)
    if isinstance(rle['counts'], str):
        rle['counts'] = rle['counts'].encode('utf-8')
    return mask_utils.decode(rle).astype(bool)


@dataclass
class MaskCandidates:
    """Candidate masks of the generator, filtered step by step.

    Attributes (N rows each): ``masks`` [N, H, W] bool in the image frame,
    ``boxes`` [N, 4] xyxy, ``predicted_iou`` / ``stability_score`` /
    ``label_score`` [N] float, ``labels`` [N] long, ``points`` [N, 2] xy
    (image frame), ``crop_boxes`` [N, 4] xyxy.
    """
    masks: Tensor
    boxes: Tensor
    predicted_iou: Tensor
    stability_score: Tensor
    labels: Tensor
    label_score: Tensor
    points: Tensor
    crop_boxes: Tensor

    def __len__(self) -> int:
        return len(self.boxes)

    def filter(self, keep: Tensor) -> 'MaskCandidates':
        """Rows ``keep`` (bool mask or indices) -> new candidates."""
        return MaskCandidates(**{
            f.name: getattr(self, f.name)[keep.to(
                getattr(self, f.name).device)]
            for f in fields(self)
        })

    @staticmethod
    def cat(parts: Sequence['MaskCandidates'],
            like: Optional['MaskCandidates'] = None
            ) -> Optional['MaskCandidates']:
        """Concatenate; None when ``parts`` is empty."""
        if not parts:
            return like
        return MaskCandidates(**{
            f.name: torch.cat([getattr(p, f.name) for p in parts])
            for f in fields(MaskCandidates)
        })
