"""SEEM post-processing: decoder outputs -> data-sample results.

The generic fusion follows mmdet's ``MaskFormerFusionHead`` (same
thresholds, mmdet's panoptic id format ``label + instance_id *
INSTANCE_OFFSET``, same instance selection) with the official SEEM
numbering: a query whose final mask (its argmax region above 0.5) is empty
is skipped before it takes an instance id. It shares its work between the
three results: the class softmax and the mask sigmoid are computed once per
image for panoptic, semantic and instance output, and nothing is built per
call. SEEM-specific parts: referring (best grounding query per sentence),
interactive (best spatial query per prompt) and visual-referring results.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.structures.mask import mask2bbox
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

__all__ = ['rescale_masks', 'GenericResults', 'generic_results',
           'mask_results']


def rescale_masks(mask_logits: Tensor, input_shape: Tuple[int, int],
                  meta: dict) -> Tensor:
    """[N, h, w] logits at 1/4 of the padded input -> [N, H0, W0] at the
    original image size (upsample, crop the padding, resize)."""
    if mask_logits.shape[0] == 0:
        h0, w0 = meta.get('ori_shape', input_shape)[:2]
        return mask_logits.new_zeros((0, h0, w0))
    x = F.interpolate(
        mask_logits[None], size=input_shape, mode='bilinear',
        align_corners=False)
    h, w = meta.get('img_shape', input_shape)[:2]
    x = x[..., :h, :w]
    h0, w0 = meta.get('ori_shape', (h, w))[:2]
    if (h0, w0) != (h, w):
        x = F.interpolate(
            x, size=(h0, w0), mode='bilinear', align_corners=False)
    return x[0]


@dataclass
class GenericResults:
    """Which generic results to make, and the fusion thresholds."""
    num_things: int
    num_stuff: int
    panoptic: bool
    semantic: bool
    instance: bool
    object_mask_thr: float = 0.8
    iou_thr: float = 0.8
    max_per_image: int = 100

    @property
    def num_classes(self) -> int:
        return self.num_things + self.num_stuff


def _panoptic(cfg: GenericResults, prob: Tensor, sig: Tensor) -> PixelData:
    """mmdet's ``panoptic_postprocess`` (``filter_low_score=True``) on the
    shared class probabilities ``prob`` [Q, K+1] and mask sigmoid ``sig``
    [Q, H, W]."""
    scores, labels = prob.max(-1)
    keep = labels.ne(cfg.num_classes) & (scores > cfg.object_mask_thr)
    cur_scores, cur_classes, cur_masks = scores[keep], labels[keep], sig[keep]
    h, w = sig.shape[-2:]
    pan = torch.full((h, w), cfg.num_classes, dtype=torch.int32,
                     device=sig.device)
    if len(cur_masks):
        cur_ids = (cur_scores.view(-1, 1, 1) * cur_masks).argmax(0)
        instance_id = 1
        for k in range(cur_classes.shape[0]):
            pred_class = int(cur_classes[k].item())
            mask = cur_ids == k
            mask_area = mask.sum().item()
            original_area = (cur_masks[k] >= 0.5).sum().item()
            mask = mask & (cur_masks[k] >= 0.5)
            # official SEEM skips an empty final mask before numbering
            # (mmdet's fusion head would still take an instance id)
            if mask_area > 0 and original_area > 0 and mask.any():
                if mask_area / original_area < cfg.iou_thr:
                    continue
                if pred_class >= cfg.num_things:  # stuff: one segment
                    pan[mask] = pred_class
                else:
                    pan[mask] = pred_class + instance_id * INSTANCE_OFFSET
                    instance_id += 1
    return PixelData(sem_seg=pan[None])


def _instances(cfg: GenericResults, prob: Tensor, masks: Tensor,
               sig: Tensor) -> InstanceData:
    """mmdet's ``instance_postprocess`` on the shared ``prob`` / ``sig``."""
    num_queries = prob.shape[0]
    scores = prob[:, :-1]
    labels = torch.arange(cfg.num_classes, device=prob.device).unsqueeze(
        0).repeat(num_queries, 1).flatten(0, 1)
    scores, top = scores.flatten(0, 1).topk(cfg.max_per_image, sorted=False)
    labels = labels[top]
    query = top // cfg.num_classes
    is_thing = labels < cfg.num_things
    scores, labels, query = scores[is_thing], labels[is_thing], query[is_thing]
    binary = (masks[query] > 0).float()
    mask_scores = (sig[query] * binary).flatten(1).sum(1) / (
        binary.flatten(1).sum(1) + 1e-6)
    binary = binary.bool()
    res = InstanceData()
    res.bboxes = mask2bbox(binary)
    res.labels = labels
    res.scores = scores * mask_scores
    res.masks = binary
    return res


def generic_results(cfg: GenericResults, cls: Tensor, masks: Tensor,
                    sample) -> None:
    """Panoptic / semantic / instance results of one image into ``sample``
    (``cls`` [Q, K+1] class logits, ``masks`` [Q, H, W] mask logits at the
    original size)."""
    prob = cls.softmax(-1)
    sig = masks.sigmoid()
    if cfg.panoptic:
        sample.pred_panoptic_seg = _panoptic(cfg, prob, sig)
    if cfg.semantic:
        seg = torch.einsum('qc,qhw->chw', prob[..., :-1], sig)
        sample.pred_sem_seg = PixelData(data=seg.argmax(0, keepdim=True))
        sample.seg_logits = PixelData(data=seg)
    if cfg.instance:
        sample.pred_instances = _instances(cfg, prob, masks, sig)


def mask_results(logits: Tensor, threshold: float,
                 scores: Optional[Tensor] = None,
                 labels: Optional[Tensor] = None,
                 texts: Optional[Sequence[str]] = None,
                 bboxes: bool = True) -> InstanceData:
    """One mask per prompt / sentence: ``masks`` (logits > threshold),
    ``scores``, ``labels`` (0 when not given) and, optionally,
    ``bboxes`` and ``texts``."""
    res = InstanceData()
    res.masks = logits > threshold
    if bboxes:
        res.bboxes = mask2bbox(res.masks)
    res.scores = scores if scores is not None else \
        logits.sigmoid().flatten(1).max(1)[0]
    res.labels = labels if labels is not None else torch.zeros(
        len(logits), dtype=torch.long, device=logits.device)
    if texts is not None:
        res.texts = list(texts)
    return res
