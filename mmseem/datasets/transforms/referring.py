"""Transforms that carry referring sentences through mmdet's pipeline.

SEEM-specific, not in mmdet/mmseg. Geometric augmentation (large-scale
jitter ``mmdet.RandomResize`` + ``mmdet.RandomCrop``, ``mmdet.RandomFlip``)
is mmdet's; these transforms only keep track of *which* instance a sentence
refers to, using mmdet's ``gt_instances_ids`` (which ``RandomCrop`` filters
together with boxes and masks):

1. :class:`LoadReferringAnnotations` (after ``LoadPanopticAnnotations``):
   ``gt_instances_ids`` = instance index in ``data_info['instances']``.
2. :class:`SampleReferringTexts` (after the geometric transforms): one random
   sentence per still-visible referred object, 1..``max_refs`` of them (the
   official mapper: ``randint(1, MAX_LEN - 1)``), as ``gt_texts`` (list of
   str) and ``gt_text_inds`` (index of the target in the packed
   ``gt_instances``).
3. :class:`PackSEEMInputs`: mmdet's ``PackDetInputs`` that also packs
   ``gt_texts`` / ``gt_text_inds`` into the data sample.
"""
import re

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import PackDetInputs

from mmseem.registry import TRANSFORMS

__all__ = [
    'LoadReferringAnnotations', 'SampleReferringTexts', 'PackSEEMInputs'
]


@TRANSFORMS.register_module()
class LoadReferringAnnotations(BaseTransform):
    """Tag every GT instance with its index (``gt_instances_ids``) so that the
    referred objects can be found after cropping.

    Required keys: ``gt_bboxes`` (from ``LoadPanopticAnnotations`` /
    ``LoadAnnotations``), optional ``referring`` (list of
    ``dict(inst_index, sentences)``, see ``RefCocoPanopticDataset``).
    Added keys: ``gt_instances_ids``, ``referring`` (validated, [] if none).
    """

    @staticmethod
    def _check_shapes(results: dict) -> None:
        """The loaded panoptic PNG must cover the image pixel for pixel
        (otherwise crops and losses fail later with reshape errors)."""
        img = results.get('img')
        if img is None:
            return
        hw = tuple(img.shape[:2])
        shapes = []
        if results.get('gt_seg_map') is not None:
            shapes.append(('gt_seg_map', tuple(results['gt_seg_map'].shape)))
        masks = results.get('gt_masks')
        if masks is not None and hasattr(masks, 'height'):
            shapes.append(('gt_masks', (masks.height, masks.width)))
        for name, shape in shapes:
            if tuple(shape[:2]) != hw:
                raise ValueError(
                    f'{results.get("seg_map_path", "the annotation")} gives '
                    f'{name} of size {shape[0]}x{shape[1]} but the image '
                    f'{results.get("img_path")} is {hw[0]}x{hw[1]} (h x w): '
                    'the panoptic PNG does not belong to this image')

    def transform(self, results: dict) -> dict:
        self._check_shapes(results)
        n = len(results['gt_bboxes']) if 'gt_bboxes' in results else 0
        results['gt_instances_ids'] = np.arange(n, dtype=np.int64)
        refs = results.get('referring') or []
        where = results.get('img_path', '<unknown image>')
        if not isinstance(refs, (list, tuple)):
            raise ValueError(f"'referring' of {where} is a "
                             f'{type(refs).__name__}; expected a list of '
                             'dict(inst_index, sentences)')
        for k, r in enumerate(refs):
            missing = [f for f in ('inst_index', 'sentences')
                       if not isinstance(r, dict) or f not in r]
            if missing:
                raise ValueError(
                    f'referring entry {k} of {where} has no {missing}; '
                    'expected dict(inst_index, sentences) as '
                    'RefCocoPanopticDataset writes it')
            if not isinstance(r['inst_index'], (int, np.integer)) or \
                    not 0 <= int(r['inst_index']) < n:
                raise ValueError(
                    f"referring inst_index {r['inst_index']!r} (entry {k}) is "
                    f'outside the {n} instances of {where}: the '
                    'referring annotations do not match this image')
            sents = r['sentences']
            if not sents or not isinstance(sents, (list, tuple)) or \
                    not all(isinstance(t, str) for t in sents):
                raise ValueError(
                    f'referring entry {k} of {where} has sentences '
                    f'{sents!r}; expected a non-empty list of str')
        results['referring'] = list(refs)
        return results


@TRANSFORMS.register_module()
class SampleReferringTexts(BaseTransform):
    """Pick the referring sentences of one training sample.

    Args:
        max_refs (int): at most this many sentences (official 4).
        random_count (bool): draw the count uniformly in ``1..max_refs``
            (official); False keeps ``max_refs``.
        swap_left_right (bool): after a horizontal flip (``flip`` and
            ``flip_direction`` from ``mmdet.RandomFlip``) exchange the words
            left/right (also in leftmost/rightmost) so that sentences still
            describe the image. The official mapper does not. Default True.

    Required keys: ``gt_instances_ids``, ``referring``, optional
    ``gt_ignore_flags``. Added keys: ``gt_texts``, ``gt_text_inds`` (int64
    [T], index into the non-ignored instances, i.e. ``gt_instances``).
    """

    def __init__(self,
                 max_refs: int = 4,
                 random_count: bool = True,
                 swap_left_right: bool = True):
        if max_refs < 1:
            raise ValueError(f'max_refs must be >= 1, got {max_refs}')
        self.max_refs = int(max_refs)
        self.random_count = random_count
        self.swap_left_right = swap_left_right

    @staticmethod
    def _swap(text: str) -> str:
        return re.sub(r'\b(left|right)',
                      lambda m: 'right' if m.group(1) == 'left' else 'left',
                      text)

    def transform(self, results: dict) -> dict:
        ids = np.asarray(results.get('gt_instances_ids', []), dtype=np.int64)
        ignore = results.get('gt_ignore_flags')
        keep = np.ones(len(ids), bool) if ignore is None else \
            ~np.asarray(ignore, bool)
        packed = {int(i): k for k, i in enumerate(ids[keep])}
        cands = [r for r in results.get('referring', [])
                 if int(r['inst_index']) in packed]
        texts, inds = [], []
        if cands:
            n = np.random.randint(1, self.max_refs + 1) \
                if self.random_count else self.max_refs
            for j in np.random.permutation(len(cands))[:n]:
                r = cands[j]
                texts.append(r['sentences'][np.random.randint(
                    len(r['sentences']))])
                inds.append(packed[int(r['inst_index'])])
        if self.swap_left_right and results.get('flip') and \
                results.get('flip_direction') in ('horizontal', 'diagonal'):
            texts = [self._swap(t) for t in texts]
        results['gt_texts'] = texts
        results['gt_text_inds'] = np.asarray(inds, dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_refs={self.max_refs}, '
                f'random_count={self.random_count})')


@TRANSFORMS.register_module()
class PackSEEMInputs(PackDetInputs):
    """mmdet's ``PackDetInputs`` + ``gt_texts`` (list of str) and
    ``gt_text_inds`` (LongTensor [T]) on the data sample."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        ds = packed['data_samples']
        if 'gt_texts' in results:
            texts = list(results['gt_texts'])
            inds = np.asarray(results.get('gt_text_inds', []), np.int64)
            n = len(ds.gt_instances) if 'gt_instances' in ds else 0
            if inds.shape != (len(texts), ) or (inds.size and (
                    inds.min() < 0 or inds.max() >= n)):
                raise ValueError(
                    f'{results.get("img_path", "<unknown image>")}: '
                    f'gt_text_inds {inds.tolist()} (shape {inds.shape}) must '
                    f'give one index in [0, {n}) per text of gt_texts '
                    f'({len(texts)} texts); SampleReferringTexts writes both')
            ds.gt_texts = texts
            ds.gt_text_inds = torch.as_tensor(inds)
        return packed
