"""Labelled "segment everything" with SEEM, in the style of SAM.

SEEM-specific, not in mmdet/mmseg (the counterpart of SAM's
``SamAutomaticMaskGenerator``, same settings and output records, written
anew): a grid of single positive clicks over the image (and optionally over
crops of it) is run through SEEM's interactive path in batches
(:meth:`SEEMPredictor.predict_batch` machinery: every click alone, several
per decoder call), then SAM's filters drop poor and duplicate masks, and
every remaining mask carries an open-vocabulary label.

What the SAM quantities are for SEEM, which has no IoU head:

* ``predicted_iou`` -- SEEM's confidence in the mask: the mean foreground
  probability (sigmoid of the mask logits) inside the binary mask of the
  click's selected spatial query (Mask2Former's mask score, in [0.5, 1] for
  a non-empty mask). The selected query is SEEM's best of its 3 spatial
  queries by ``mask embedding . mean positive vector`` of the click
  (``SEEMDecoder.select_spatial_masks``); that selection score itself is an
  unbounded dot product, not comparable across images, so it only picks the
  query. Filtered with ``pred_iou_thresh``.
* ``stability_score`` -- as SAM: IoU of the masks thresholded at
  ``mask_threshold +- stability_score_offset`` on the logits.
* ``label`` / ``label_score`` -- SEEM's semantic label of the mask: the
  selected query's caption embedding against the class embeddings of the
  user's vocabulary (``SEEM.predict_prompts``: softmax over the classes,
  background dropped); ``label`` is the class name, ``label_score`` its
  probability.

Box NMS is mmcv's ``batched_nms`` (class-agnostic), ranked by
``predicted_iou`` within an image / crop and by smaller crop across crops,
as SAM. SAM's ``min_mask_region_area`` clean-up is not implemented.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmcv.ops import batched_nms
from mmdet.structures.mask import mask2bbox

from mmseem.structures import VisualPrompts
from .amg_utils import (MaskCandidates, box_xyxy_to_xywh,
                        build_all_layer_point_grids, generate_crop_boxes,
                        is_box_near_crop_edge, mask_confidence, mask_to_rle,
                        stability_score)
from .batched_prompts import BatchedPromptRunner
from .image_io import ImageLike, load_image
from .predictor import SEEMPredictor

__all__ = ['SEEMAutomaticMaskGenerator']

OUTPUT_MODES = ('binary_mask', 'coco_rle')


class SEEMAutomaticMaskGenerator:
    """Segment everything in an image and name every segment.

    Args:
        model (SEEM | SEEMPredictor): a SEEM segmentor or a predictor of it.
        vocabulary (list[str], optional): class names for the labels (set on
            the model, as :meth:`SEEMPredictor.set_vocabulary`); default the
            model's vocabulary. A vocabulary is required.
        points_per_side (int): clicks per side of the grid (``n*n`` clicks
            on the image; SAM's 32).
        points_per_batch (int): clicks per decoder call (the image features
            are repeated that many times: it bounds memory).
        pred_iou_thresh (float): keep masks with ``predicted_iou`` above it
            (SAM's 0.88, not tuned for SEEM; 0 disables).
        stability_score_thresh (float): keep masks with stability score at
            least this (SAM's 0.95; 0 disables).
        stability_score_offset (float): logit offset of the stability score.
        box_nms_thresh (float): box IoU of duplicates within an image/crop.
        crop_n_layers (int): crop layers (0: the whole image only).
        crop_nms_thresh (float): box IoU of duplicates across crops.
        crop_overlap_ratio (float): overlap of first-layer crops (fraction
            of the short side).
        crop_n_points_downscale_factor (int): layer i has
            ``points_per_side / factor**i`` clicks per side.
        point_grids (list[np.ndarray], optional): explicit [K, 2] xy grids in
            [0, 1], one per crop layer, instead of ``points_per_side``.
        output_mode (str): ``'binary_mask'`` ([H, W] bool) or ``'coco_rle'``
            (pycocotools compressed RLE with str ``counts``).
        mask_threshold (float): logit threshold of the binary masks;
            default the model's ``test_cfg.mask_threshold``.
        prompt_options (dict, optional): click options of
            :meth:`VisualPrompts.build` (``radius``, ``click_shape``).
    """

    def __init__(self,
                 model,
                 vocabulary: Optional[Sequence[str]] = None,
                 points_per_side: Optional[int] = 32,
                 points_per_batch: int = 16,
                 pred_iou_thresh: float = 0.88,
                 stability_score_thresh: float = 0.95,
                 stability_score_offset: float = 1.0,
                 box_nms_thresh: float = 0.7,
                 crop_n_layers: int = 0,
                 crop_nms_thresh: float = 0.7,
                 crop_overlap_ratio: float = 512 / 1500,
                 crop_n_points_downscale_factor: int = 1,
                 point_grids: Optional[List[np.ndarray]] = None,
                 output_mode: str = 'binary_mask',
                 mask_threshold: Optional[float] = None,
                 prompt_options: Optional[Dict] = None):
        if (points_per_side is None) == (point_grids is None):
            raise ValueError('give exactly one of points_per_side and '
                             'point_grids')
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f'output_mode {output_mode!r} is unknown; '
                             f'choose one of {OUTPUT_MODES}')
        if points_per_batch < 1:
            raise ValueError(f'points_per_batch must be >= 1; got '
                             f'{points_per_batch}')
        if crop_n_layers < 0:
            raise ValueError(f'crop_n_layers must be >= 0; got '
                             f'{crop_n_layers}')
        if point_grids is None:
            point_grids = build_all_layer_point_grids(
                points_per_side, crop_n_layers,
                crop_n_points_downscale_factor)
        if len(point_grids) < crop_n_layers + 1:
            raise ValueError(f'point_grids has {len(point_grids)} grids for '
                             f'{crop_n_layers + 1} crop layers')
        self.point_grids = [np.asarray(g, dtype=np.float64)
                            for g in point_grids]
        self.predictor = model if isinstance(model, SEEMPredictor) else \
            SEEMPredictor(model)
        m = self.predictor.model
        if vocabulary is not None:
            m.set_vocabulary(list(vocabulary))
        try:
            things, stuff = m.get_vocabulary()
        except ValueError as e:
            raise ValueError('SEEMAutomaticMaskGenerator labels every mask '
                             'from a vocabulary: pass vocabulary=[...]') from e
        self.class_names = list(things) + list(stuff)
        self.mask_threshold = float(m.test_cfg.get('mask_threshold', 0.0)
                                    if mask_threshold is None else
                                    mask_threshold)
        self.points_per_batch = int(points_per_batch)
        self.pred_iou_thresh = pred_iou_thresh
        self.stability_score_thresh = stability_score_thresh
        self.stability_score_offset = stability_score_offset
        self.box_nms_thresh = box_nms_thresh
        self.crop_n_layers = crop_n_layers
        self.crop_nms_thresh = crop_nms_thresh
        self.crop_overlap_ratio = crop_overlap_ratio
        self.output_mode = output_mode
        self.prompt_options = dict(prompt_options or {})

    # ------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, image: ImageLike,
                 image_format: str = 'RGB') -> List[Dict]:
        """Masks of ``image`` (path, PIL or uint8 array), as SAM's records.

        Returns:
            list[dict]: per mask ``segmentation`` ([H, W] bool or COCO RLE),
            ``area`` (pixels), ``bbox`` (``[x, y, w, h]``),
            ``predicted_iou``, ``stability_score``, ``point_coords``
            (``[[x, y]]`` of the click), ``crop_box`` (``[x, y, w, h]``),
            ``label`` (class name from the vocabulary), ``label_id`` (its
            index) and ``label_score``; sorted by ``predicted_iou``.
        """
        rgb = load_image(image, image_format)
        h, w = rgb.shape[:2]
        boxes, layers = generate_crop_boxes((h, w), self.crop_n_layers,
                                            self.crop_overlap_ratio)
        parts = [self._process_crop(rgb, box, layer, (h, w))
                 for box, layer in zip(boxes, layers)]
        data = MaskCandidates.cat([p for p in parts if len(p)], parts[0])
        if len(boxes) > 1 and len(data):
            # duplicates across crops: prefer the smaller crop
            cb = data.crop_boxes.float()
            area = (cb[:, 2] - cb[:, 0]) * (cb[:, 3] - cb[:, 1])
            data = data.filter(self._nms(data.boxes, 1 / area,
                                         self.crop_nms_thresh))
        order = data.predicted_iou.argsort(descending=True)
        return self._records(data.filter(order))

    def _nms(self, boxes, scores, thr) -> torch.Tensor:
        if len(boxes) == 0:
            return torch.zeros(0, dtype=torch.long)
        _, keep = batched_nms(
            boxes.float(), scores.float(),
            torch.zeros(len(boxes), dtype=torch.long, device=boxes.device),
            dict(type='nms', iou_threshold=float(thr)), class_agnostic=True)
        return keep

    def _process_crop(self, rgb: np.ndarray, crop_box, layer: int,
                      orig_size) -> MaskCandidates:
        x0, y0, x1, y1 = crop_box
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        self.predictor.set_image(crop)
        ch, cw = crop.shape[:2]
        points = self.point_grids[layer] * np.array([[cw, ch]])
        runner = BatchedPromptRunner(self.predictor.model,
                                     self.predictor._feats,
                                     self.predictor._sample)
        step = self.points_per_batch
        parts = [
            self._process_batch(runner, points[i:i + step], (ch, cw),
                                crop_box, orig_size)
            for i in range(0, len(points), step)
        ]
        data = MaskCandidates.cat([p for p in parts if len(p)], parts[0])
        self.predictor.reset_image()
        if len(data):
            data = data.filter(self._nms(data.boxes, data.predicted_iou,
                                         self.box_nms_thresh))
        return data

    def _process_batch(self, runner, points: np.ndarray, crop_size,
                       crop_box, orig_size) -> MaskCandidates:
        opts = dict(self.prompt_options)
        prompts = [
            VisualPrompts.build(crop_size, points=[[p]], point_labels=[[1]],
                                **opts) for p in points
        ]
        res = runner.run(prompts)
        logits = res.mask_logits.float()
        labels = res.labels
        label_score = res.scores.float()
        iou = mask_confidence(logits, self.mask_threshold)
        stab = stability_score(logits, self.mask_threshold,
                               self.stability_score_offset)
        keep = torch.ones(len(logits), dtype=torch.bool)
        if self.pred_iou_thresh > 0:
            keep &= iou > self.pred_iou_thresh
        if self.stability_score_thresh > 0:
            keep &= stab >= self.stability_score_thresh
        masks = logits > self.mask_threshold
        keep &= masks.flatten(1).any(1)
        # back to the image frame
        x0, y0, _, _ = crop_box
        oh, ow = orig_size
        full = masks.new_zeros((len(masks), oh, ow))
        full[:, y0:y0 + crop_size[0], x0:x0 + crop_size[1]] = masks
        boxes = mask2bbox(full).float()
        keep &= ~is_box_near_crop_edge(boxes, crop_box, [0, 0, ow, oh])
        pts = torch.as_tensor(points, dtype=torch.float) + \
            torch.tensor([[x0, y0]], dtype=torch.float)
        return MaskCandidates(
            masks=full, boxes=boxes, predicted_iou=iou, stability_score=stab,
            labels=labels, label_score=label_score, points=pts,
            crop_boxes=torch.tensor([list(crop_box)] * len(full),
                                    dtype=torch.float)).filter(keep)

    def _records(self, data: MaskCandidates) -> List[Dict]:
        records = []
        for i in range(len(data)):
            mask = data.masks[i].cpu().numpy()
            label = int(data.labels[i])
            records.append(
                dict(
                    segmentation=mask_to_rle(mask)
                    if self.output_mode == 'coco_rle' else mask,
                    area=int(mask.sum()),
                    bbox=box_xyxy_to_xywh(data.boxes[i].tolist()),
                    predicted_iou=float(data.predicted_iou[i]),
                    point_coords=[data.points[i].tolist()],
                    stability_score=float(data.stability_score[i]),
                    crop_box=box_xyxy_to_xywh(data.crop_boxes[i].tolist()),
                    label=self.class_names[label],
                    label_id=label,
                    label_score=float(data.label_score[i])))
        return records
