"""SEEM training targets, built from data samples (apart from the loss).

SEEM-specific, not in mmdet/mmseg (official ``prepare_targets`` and the
targets of ``GeneralizedSEEM.forward_seg``):

* panoptic: things (``gt_instances``) + stuff (``gt_sem_seg``) per image,
  mmdet's ``preprocess_panoptic_gt``;
* grounding (:class:`GroundingTarget`): referring sentences (``gt_texts`` +
  ``gt_text_inds`` of :class:`mmseem.datasets.transforms.
  SampleReferringTexts`) or, without them, prompted class names (official
  "class" mode);
* spatial (:class:`SpatialTarget`): the prompt simulator's initial visual
  prompts and their objects; the head's corrective rounds update
  ``pos`` / ``neg`` / ``fp`` in place.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.models.utils import preprocess_panoptic_gt
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData
from torch import Tensor

from mmseem.registry import DATASETS
from mmseem.utils.vocabulary import parse_vocabulary
from ..language.prompt_templates import prompt_random_template

__all__ = [
    'GroundingTarget', 'SpatialTarget', 'SEEMTargets', 'panoptic_targets',
    'grounding_targets', 'spatial_targets', 'resolve_class_names'
]


@dataclass
class GroundingTarget:
    """Grounding target of one image.

    ``mode``: ``'text'`` (sentences), ``'class_'`` (class names) or None
    (nothing to ground); ``texts`` (T), ``masks`` [T, H, W], ``hash`` (T
    ints, equal text = equal hash); ``class_emb`` [T, C] phrase embeddings
    (filled when the texts are encoded).
    """
    mode: Optional[str]
    texts: List[str]
    masks: Tensor
    hash: List[int]
    class_emb: Optional[Tensor] = None


@dataclass
class SpatialTarget:
    """Visual prompts of one image and their objects: ``pos`` / ``neg`` /
    ``fp`` [P, H, W] bool prompt and false-positive masks, ``gt`` [P, H, W]
    objects, ``valid`` [P] (False for a placeholder prompt)."""
    pos: Tensor
    neg: Tensor
    gt: Tensor
    fp: Tensor
    valid: Tensor


@dataclass
class SEEMTargets:
    """All targets of a batch."""
    panoptic: List[InstanceData]
    grounding: Optional[List[GroundingTarget]] = None
    spatial: Optional[List[SpatialTarget]] = None
    names: List[str] = field(default_factory=list)


def resolve_class_names(
        class_names) -> Optional[Tuple[List[str], List[str]]]:
    """``(thing_classes, stuff_classes)`` of a dict or a registered
    dataset's ``METAINFO``; None stays None."""
    if class_names is None:
        return None
    if isinstance(class_names, str):
        cls = DATASETS.get(class_names)
        if cls is None or not hasattr(cls, 'METAINFO'):
            raise ValueError(
                f'class_names={class_names!r}: no registered dataset with '
                "a METAINFO; give dict(thing_classes=[...], "
                'stuff_classes=[...]) instead')
        class_names = cls.METAINFO
    if not isinstance(class_names, dict):
        raise TypeError('class_names must be a dict with thing_classes / '
                        'stuff_classes, or a dataset name')
    return parse_vocabulary(class_names, what='class_names').as_lists()


def _pad_to(masks: Tensor, size: Tuple[int, int]) -> Tensor:
    h, w = masks.shape[-2:]
    if (h, w) == tuple(size):
        return masks
    if h > size[0] or w > size[1]:
        raise ValueError(f'GT masks {h}x{w} are larger than the padded '
                         f'input {size}')
    return F.pad(masks, (0, size[1] - w, 0, size[0] - h))


def panoptic_targets(data_samples: Sequence, num_things: int,
                     num_stuff: int, size: Tuple[int, int],
                     device) -> List[InstanceData]:
    """Things (``gt_instances``) + stuff (``gt_sem_seg``) per image:
    ``labels`` [N], bool ``masks`` [N, H, W] at the padded input size;
    things come first, in ``gt_instances`` order."""
    out = []
    for s in data_samples:
        if 'gt_instances' not in s:
            raise ValueError('SEEM training needs gt_instances in every '
                             'data sample (mmdet PackDetInputs)')
        gi = s.gt_instances
        labels = gi.labels.to(device).long()
        masks = gi.masks
        if isinstance(masks, Tensor):
            masks = BitmapMasks(masks.cpu().numpy().astype(np.uint8),
                                *masks.shape[-2:])
        sem = s.gt_sem_seg.sem_seg.to(device) if 'gt_sem_seg' in s \
            else None
        if sem is not None and len(masks) and \
                sem.shape[-2:] != (masks.height, masks.width):
            raise ValueError('gt_sem_seg and gt_instances.masks differ in '
                             'size: pad both (pad_mask / pad_seg)')
        if len(masks) == 0:
            h, w = sem.shape[-2:] if sem is not None else size
            masks = BitmapMasks(np.zeros((0, h, w), np.uint8), h, w)
        lab, m = preprocess_panoptic_gt(labels, masks, sem, num_things,
                                        num_stuff)
        m = _pad_to(m.to(device).bool(), size)
        out.append(InstanceData(labels=lab.long(), masks=m))
    return out


def grounding_targets(data_samples: Sequence, panoptic: List[InstanceData],
                      names: List[str], gen_cpu: torch.Generator,
                      templates: Sequence[str], max_grounding: int,
                      class_fallback: bool) -> List[GroundingTarget]:
    """Sentences of every image, or (``class_fallback``) 1..max_grounding
    of its classes prompted with a random template."""
    targets = []
    for s, gt in zip(data_samples, panoptic):
        texts = s.get('gt_texts', None)
        inds = s.get('gt_text_inds', None)
        t = GroundingTarget(None, ['none'], gt.masks[:0], [0])
        if texts:
            inds = torch.as_tensor(inds, dtype=torch.long,
                                   device=gt.masks.device)
            if len(inds) != len(texts):
                raise ValueError(
                    f'gt_texts ({len(texts)}) and gt_text_inds '
                    f'({len(inds)}) differ in length')
            ok = (inds >= 0) & (inds < len(gt.masks))
            if ok.any():
                sel = ok.nonzero().flatten().tolist()
                tx = [texts[i] for i in sel]
                t = GroundingTarget('text', tx, gt.masks[inds[ok]],
                                    [hash(x) for x in tx])
        if t.mode is None and class_fallback and len(gt.labels):
            classes = gt.labels.unique().tolist()
            perm = torch.randperm(len(classes), generator=gen_cpu)
            k = int(torch.randint(1, max_grounding + 1, (1, ),
                                  generator=gen_cpu))
            chosen = [classes[i] for i in perm[:min(k, len(classes))]]
            keep = torch.isin(gt.labels,
                              torch.tensor(chosen, device=gt.labels.device))
            prompts = {
                c: prompt_random_template(names[c], templates, gen_cpu)
                for c in chosen
            }
            labs = gt.labels[keep].tolist()
            t = GroundingTarget('class_', [prompts[c] for c in labs],
                                gt.masks[keep], labs)
        targets.append(t)
    return targets


def spatial_targets(panoptic: List[InstanceData], simulator,
                    np_rng) -> List[SpatialTarget]:
    """Initial visual prompts per image from the prompt simulator."""
    out = []
    for gt in panoptic:
        sim = simulator.sample(gt.masks, generator=np_rng)
        valid = torch.tensor([x != 'none' for x in sim['types']],
                             device=gt.masks.device)
        pos, gtm = sim['pos_masks'][valid], sim['gt_masks'][valid]
        ok = torch.ones(len(pos), dtype=torch.bool, device=pos.device)
        if len(pos) == 0:
            # every image needs one prompt: a 1-pixel placeholder with an
            # empty target, excluded from the losses
            pos = torch.zeros_like(sim['pos_masks'][:1])
            pos[0, 0, 0] = True
            gtm = torch.zeros_like(pos)
            ok = torch.zeros(1, dtype=torch.bool, device=pos.device)
        out.append(SpatialTarget(pos, torch.zeros_like(pos), gtm,
                                 torch.zeros_like(pos), ok))
    return out
