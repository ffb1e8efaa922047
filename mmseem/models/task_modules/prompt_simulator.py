"""Interactive prompt simulator for SEEM's spatial (visual-prompt) training.

SEEM-specific, not in mmdet/mmseg. SEEM learns visual prompts by simulating
a user from ground-truth masks:

1. *Initial prompt* (official ``datasets/visual_sampler/sampler.py``
   ``ShapeSampler``): per image, shuffle the instances and keep up to
   ``max_instances`` (``STROKE_SAMPLER.MAX_CANDIDATE``, 10 in the official
   training recipe ``assets/readmes/TRAIN.md``); draw for each one shape,
   chosen among point / polygon / scribble / circle with p = 0.25 each
   (``CANDIDATE_PROBS``), plus ``box`` which this simulator adds (p = 0 by
   default). An instance whose mask has fewer than 10 pixels, or whose drawn
   shape is empty, becomes type ``'none'`` with a zeroed GT mask.
2. *Corrective rounds* (official ``seem_model_v1.py``
   ``prepare_next_spaital_mask``): the model runs ``randint(0, max_rounds)``
   rounds without gradient (``MODEL.DECODER.SPATIAL.MAX_ITER``, 5 in
   ``TRAIN.md``); after each, :meth:`InteractivePromptSimulator.next_click`
   adds one click per prompt at the distance-transform maximum of the larger
   error region (false negatives -> positive click, false positives ->
   negative click), dilated by ``3 x 3``, except for prompts whose IoU is
   already >= 0.925. The rule is
   :data:`mmseem.structures.click_rule.SEEM_RULE`, the one SEEM's click
   evaluation uses too, with kornia 0.7.0's approximate distance transform
   as the official training code computes it.

This module is the prompt side only; the model owns the no-grad loop.
Randomness comes from a ``numpy.random.Generator`` (or a seed, or a
``torch.Generator``) so sampling is reproducible.
"""
import math
from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from mmseem.registry import TASK_UTILS
from mmseem.structures.click_rule import (SEEM_RULE, as_bool_tensor,
                                          next_clicks)
from .prompt_shapes import (STROKE_PRESETS, bezier_closed_curve,
                            free_form_strokes)

__all__ = ['InteractivePromptSimulator']

GeneratorLike = Union[None, int, np.random.Generator, torch.Generator]

SHAPES = ('point', 'polygon', 'scribble', 'circle', 'box')


def _rng(generator: GeneratorLike) -> np.random.Generator:
    """A numpy Generator from a Generator / seed / torch.Generator."""
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, torch.Generator):
        seed = int(torch.randint(0, 2**62, (1, ), generator=generator).item())
        return np.random.default_rng(seed)
    if generator is None or isinstance(generator, (int, np.integer)):
        return np.random.default_rng(generator)
    raise TypeError(
        f'generator must be a numpy.random.Generator, torch.Generator, int '
        f'seed or None; got {type(generator)}')


def _as_bool_np(x, what: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.dtype != bool:
        raise TypeError(
            f'{what} must be a bool mask; got dtype {x.dtype} (threshold '
            f'it first, e.g. logits.sigmoid() > 0.5 or mask > 0)')
    return x


@TASK_UTILS.register_module()
class InteractivePromptSimulator:
    """Simulates user visual prompts from GT masks for SEEM training.

    Args:
        max_instances (int): instances prompted per image
            (official ``STROKE_SAMPLER.MAX_CANDIDATE``; 10 in TRAIN.md).
        shape_probs (dict): probability of each shape among ``point``,
            ``polygon``, ``scribble``, ``circle`` (official, 0.25 each) and
            ``box`` (added here, default 0); normalised to sum to 1.
        max_points (int): a point prompt has 1..max_points random GT pixels
            (official ``POINT.NUM_POINTS`` = 20), undilated.
        max_polygon_points (int): a polygon is a closed Bezier curve through
            1..N random GT pixels (official ``POLYGON.MAX_POINTS`` = 9).
        max_scribble_strokes (int): 1..N thin strokes (``SCRIBBLE``, 5).
        max_circle_strokes (int): 1..N thick strokes (``CIRCLE``, 5).
        scribble_presets, circle_presets (dict): preset name -> probability
            (official rand_curve/_small 0.5 each; object_like/_middle/_small
            1/3 each).
        min_area (int): instances with fewer GT pixels get no prompt
            (``'none'``), official 10.
        polygon_in_mask (bool): keep only the polygon-curve pixels inside
            the GT mask. The official curve may leave a non-convex mask; we
            default to True so every positive prompt pixel is on the object
            (falls back to the sampled vertices if nothing is left). Set
            False for the official behaviour.
        max_rounds (int): corrective rounds drawn in ``0..max_rounds``
            (official ``SPATIAL.MAX_ITER``; 5 in TRAIN.md).
        iou_thr (float): no corrective click once IoU >= this (0.925).
        click_radius (int): corrective click half-size; 1 = official 3x3.
    """

    def __init__(self,
                 max_instances: int = 10,
                 shape_probs: Optional[Dict[str, float]] = None,
                 max_points: int = 20,
                 max_polygon_points: int = 9,
                 max_scribble_strokes: int = 5,
                 max_circle_strokes: int = 5,
                 scribble_presets: Optional[Dict[str, float]] = None,
                 circle_presets: Optional[Dict[str, float]] = None,
                 min_area: int = 10,
                 polygon_in_mask: bool = True,
                 max_rounds: int = 5,
                 iou_thr: float = 0.925,
                 click_radius: int = 1):
        if shape_probs is None:
            shape_probs = dict(point=0.25,
                               polygon=0.25,
                               scribble=0.25,
                               circle=0.25,
                               box=0.)
        self.shape_names, self.shape_probs = self._check_probs(
            shape_probs, SHAPES, 'shape_probs')
        if scribble_presets is None:
            scribble_presets = dict(rand_curve=0.5, rand_curve_small=0.5)
        if circle_presets is None:
            circle_presets = dict(object_like=1 / 3,
                                  object_like_middle=1 / 3,
                                  object_like_small=1 / 3)
        self.scribble_presets = self._check_probs(scribble_presets,
                                                  STROKE_PRESETS,
                                                  'scribble_presets')
        self.circle_presets = self._check_probs(circle_presets, STROKE_PRESETS,
                                                'circle_presets')
        for name, val in dict(max_instances=max_instances,
                              max_points=max_points,
                              max_polygon_points=max_polygon_points,
                              max_scribble_strokes=max_scribble_strokes,
                              max_circle_strokes=max_circle_strokes,
                              min_area=min_area).items():
            if int(val) != val or val < 1:
                raise ValueError(f'{name} must be a positive int; got {val}')
        if int(max_rounds) != max_rounds or max_rounds < 0:
            raise ValueError(
                f'max_rounds must be a non-negative int; got {max_rounds}')
        if not 0 < iou_thr <= 1:
            raise ValueError(f'iou_thr must be in (0, 1]; got {iou_thr}')
        self.max_instances = int(max_instances)
        self.max_points = int(max_points)
        self.max_polygon_points = int(max_polygon_points)
        self.max_scribble_strokes = int(max_scribble_strokes)
        self.max_circle_strokes = int(max_circle_strokes)
        self.min_area = int(min_area)
        self.polygon_in_mask = polygon_in_mask
        self.max_rounds = int(max_rounds)
        self.iou_thr = float(iou_thr)
        self.click_radius = int(click_radius)
        #: the corrective-click rule (SEEM's, shared with evaluation)
        self.rule = replace(SEEM_RULE, keep_iou=self.iou_thr)

    @staticmethod
    def _check_probs(probs: Dict[str, float], known: Sequence[str],
                     what: str) -> Tuple[List[str], np.ndarray]:
        if not isinstance(probs, dict) or not probs:
            raise TypeError(f'{what} must be a non-empty dict name -> '
                            f'probability; got {probs!r}')
        unknown = sorted(set(probs) - set(known))
        if unknown:
            raise ValueError(f'{what} has unknown names {unknown}; known: '
                             f'{sorted(known)}')
        names = list(probs)
        p = np.array([float(probs[n]) for n in names])
        if not np.all(np.isfinite(p)) or (p < 0).any() or p.sum() <= 0:
            raise ValueError(f'{what} must be non-negative with a positive '
                             f'sum; got {probs}')
        return names, p / p.sum()

    # ------------------------------------------------------------------
    # initial prompts
    def sample(self,
               gt_masks: Union[torch.Tensor, np.ndarray],
               gt_boxes: Union[torch.Tensor, np.ndarray, None] = None,
               generator: GeneratorLike = None) -> dict:
        """Draw one initial prompt for up to ``max_instances`` instances.

        Args:
            gt_masks (Tensor): ``[N, H, W]`` bool instance masks.
            gt_boxes (Tensor, optional): ``[N, 4]`` xyxy boxes; default the
                tight mask boxes (``x2 = max_x + 1``, as detectron2).
            generator: numpy Generator / int seed / torch.Generator.

        Returns:
            dict: ``gt_masks`` ``[K, H, W]`` bool (zeroed for ``'none'``),
            ``pos_masks`` ``[K, H, W]`` bool drawn prompts, ``neg_masks``
            all False, ``types`` (K shape names or ``'none'``), ``indices``
            ``[K]`` long into the input instances. With no instance, K = 1
            with an empty ``'none'`` entry (index -1), as official.
        """
        rng = _rng(generator)
        device = gt_masks.device if isinstance(gt_masks,
                                               torch.Tensor) else 'cpu'
        masks = _as_bool_np(gt_masks, 'gt_masks')
        if masks.ndim != 3:
            raise ValueError(f'gt_masks must be [N, H, W]; got shape '
                             f'{masks.shape}')
        n, h, w = masks.shape
        if gt_boxes is None:
            boxes = np.stack([self._mask_box(m) for m in masks]) if n else \
                np.zeros((0, 4))
        else:
            boxes = gt_boxes.detach().cpu().numpy() if isinstance(
                gt_boxes, torch.Tensor) else np.asarray(gt_boxes)
            if boxes.shape != (n, 4):
                raise ValueError(f'gt_boxes must be [{n}, 4] (one xyxy box '
                                 f'per mask); got {boxes.shape}')
        if n == 0:
            empty = torch.zeros((1, h, w), dtype=torch.bool, device=device)
            return dict(gt_masks=empty,
                        pos_masks=empty.clone(),
                        neg_masks=empty.clone(),
                        types=['none'],
                        indices=torch.full((1, ), -1, dtype=torch.long))
        order = rng.permutation(n)[:self.max_instances]
        shapes = rng.choice(len(self.shape_names),
                            size=len(order),
                            p=self.shape_probs)
        out_gt, out_pos, types = [], [], []
        for idx, s in zip(order, shapes):
            shape = self.shape_names[s]
            gt = masks[idx]
            drawn = self.draw(shape, gt, boxes[idx], rng)
            if not drawn.any():
                gt = np.zeros_like(gt)
                shape = 'none'
            out_gt.append(gt)
            out_pos.append(drawn)
            types.append(shape)
        pos = torch.from_numpy(np.stack(out_pos)).to(device)
        return dict(gt_masks=torch.from_numpy(np.stack(out_gt)).to(device),
                    pos_masks=pos,
                    neg_masks=torch.zeros_like(pos),
                    types=types,
                    indices=torch.from_numpy(order.astype(np.int64)))

    @staticmethod
    def _mask_box(mask: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            return np.zeros(4)
        return np.array(
            [xs.min(), ys.min(),
             xs.max() + 1, ys.max() + 1], dtype=np.float64)

    def draw(self, shape: str, mask: np.ndarray, box: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
        """Draw one prompt of ``shape`` for a bool ``[H, W]`` GT mask."""
        area = int(mask.sum())
        if area < self.min_area:
            return np.zeros_like(mask)
        if shape == 'point':
            return self._draw_point(mask, area, rng)
        if shape == 'polygon':
            return self._draw_polygon(mask, box, area, rng)
        if shape == 'scribble':
            return self._draw_strokes(mask, area, self.max_scribble_strokes,
                                      self.scribble_presets, rng, False)
        if shape == 'circle':
            return self._draw_strokes(mask, area, self.max_circle_strokes,
                                      self.circle_presets, rng, True)
        if shape == 'box':
            return self._draw_box(mask, box)
        raise ValueError(f'unknown shape {shape!r}; known: {SHAPES}')

    @staticmethod
    def _pick_pixels(mask: np.ndarray, n: int,
                     rng: np.random.Generator) -> Tuple[np.ndarray, ...]:
        flat = np.flatnonzero(mask)
        sel = flat[rng.choice(len(flat), size=min(n, len(flat)),
                              replace=False)]
        return np.unravel_index(sel, mask.shape)

    def _draw_point(self, mask, area, rng):
        num = int(rng.integers(1, min(self.max_points, area) + 1))
        out = np.zeros_like(mask)
        out[self._pick_pixels(mask, num, rng)] = True
        return out

    def _draw_polygon(self, mask, box, area, rng):
        h, w = mask.shape
        x1, y1, x2, y2 = (int(v) for v in box)
        x1, y1 = max(x1, 0), max(y1, 0)
        x2, y2 = min(x2, w), min(y2, h)
        crop = mask[y1:y2, x1:x2]
        if not crop.any():
            return np.zeros_like(mask)
        bh, bw = crop.shape
        num = int(rng.integers(1, min(self.max_polygon_points, area) + 1))
        rows, cols = self._pick_pixels(crop, num, rng)
        # official normalisation: x / (w + 1), y / (h + 1), rescaled by
        # (w - 1), (h - 1) and truncated (a slight shrink towards the box's
        # top-left corner, kept for fidelity)
        pts = np.stack([cols / (bw + 1), rows / (bh + 1)], 1)
        curve = bezier_closed_curve(pts).clip(0, 1)
        cc = (curve[:, 0] * (bw - 1)).astype(np.int64)
        rr = (curve[:, 1] * (bh - 1)).astype(np.int64)
        out = np.zeros_like(mask)
        out[rr + y1, cc + x1] = True
        if self.polygon_in_mask:
            out &= mask
            if not out.any():
                out[rows + y1, cols + x1] = True
        return out

    def _draw_strokes(self, mask, area, max_strokes, presets, rng, circle):
        names, probs = presets
        preset = STROKE_PRESETS[names[rng.choice(len(names), p=probs)]]
        if circle:  # official circle.py: min(randint(1, N), area)
            num = min(int(rng.integers(1, max_strokes + 1)), area)
        else:  # official scribble.py: randint(1, min(N, area))
            num = int(rng.integers(1, min(max_strokes, area) + 1))
        rows, cols = self._pick_pixels(mask, num, rng)
        init = np.stack([cols, rows], 1).astype(np.float64)
        return free_form_strokes(init, mask.shape, preset, rng) & mask

    @staticmethod
    def _draw_box(mask, box):
        h, w = mask.shape
        x1, y1 = max(int(math.floor(box[0])), 0), max(int(math.floor(box[1])),
                                                      0)
        x2, y2 = min(int(math.ceil(box[2])), w), min(int(math.ceil(box[3])), h)
        out = np.zeros_like(mask)
        out[y1:y2, x1:x2] = True
        return out

    # ------------------------------------------------------------------
    # corrective rounds
    def num_rounds(self, generator: GeneratorLike = None) -> int:
        """Number of no-grad corrective rounds, uniform in 0..max_rounds."""
        return int(_rng(generator).integers(0, self.max_rounds + 1))

    def next_click(self,
                   pred_masks: torch.Tensor,
                   gt_masks: torch.Tensor,
                   prev_pos: torch.Tensor,
                   prev_neg: torch.Tensor,
                   prev_fp: Optional[torch.Tensor] = None) -> dict:
        """Add one corrective click per prompt (official "best" mode).

        Args:
            pred_masks (Tensor): ``[K, H, W]`` bool predictions (e.g.
                ``logits.sigmoid() > 0.5`` resized to the GT size).
            gt_masks (Tensor): ``[K, H, W]`` bool GT masks.
            prev_pos, prev_neg (Tensor): ``[K, H, W]`` bool current prompt
                masks.
            prev_fp (Tensor, optional): ``[K, H, W]`` accumulated
                false-positive regions (official ``false_positive_mask``).

        Returns:
            dict: ``pos_masks``, ``neg_masks`` (previous | new 3x3 click of
            the matching polarity) and ``false_positive_mask`` (previous |
            this round's ``~gt & pred & ~prev``), all ``[K, H, W]`` bool on
            the input device.
        """
        shapes = {t.shape for t in (pred_masks, gt_masks, prev_pos, prev_neg)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3:
            raise ValueError(
                f'pred_masks, gt_masks, prev_pos and prev_neg must all be '
                f'[K, H, W] of one size; got {[tuple(s) for s in shapes]} '
                f'(resize predictions to the GT size first)')
        device = prev_pos.device
        gt = as_bool_tensor(gt_masks, 'gt_masks', device)
        pred = as_bool_tensor(pred_masks, 'pred_masks', device)
        pos = as_bool_tensor(prev_pos, 'prev_pos', device).clone()
        neg = as_bool_tensor(prev_neg, 'prev_neg', device).clone()
        prev = pos | neg
        fp = ~gt & pred & ~prev
        if prev_fp is not None:
            fp |= as_bool_tensor(prev_fp, 'prev_fp', device)
        proposal = next_clicks(gt, pred, prev, self.rule)
        r = self.click_radius
        # official: no click once IoU >= iou_thr; here also none when the
        # chosen error region is empty (official would click pixel (0, 0))
        for k in np.flatnonzero(proposal.needs_click & proposal.on_error):
            y, x, positive = proposal.clicks[k]
            target = pos if positive else neg
            target[k, max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1] = True
        return dict(pos_masks=pos, neg_masks=neg, false_positive_mask=fp)
