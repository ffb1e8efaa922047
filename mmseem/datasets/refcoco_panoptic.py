"""COCO panoptic + referring sentences in one sample (SEEM's training set).

SEEM-specific, not in mmdet/mmseg: SEEM trains its generic, grounding and
interactive tasks jointly on COCO panoptic images whose objects also carry
RefCOCO(g) sentences (official ``coco_2017_train_panoptic_..._grounding``).
This is mmdet's :class:`~mmdet.datasets.CocoPanopticDataset` plus, per image,
``data_info['referring']``: a list of ``dict(inst_index, sentences,
ref_id)``, ``inst_index`` being the index of the referred object in
``data_info['instances']`` (the panoptic thing segments, i.e. the order of
``gt_instances`` after ``LoadPanopticAnnotations``).

Referred objects are linked to panoptic segments by category and box IoU
(the referring annotations come from the instances json, whose ids differ
from panoptic segment ids); objects without a match (IoU < ``min_iou``) are
dropped. The grounding target is therefore the panoptic (visible) mask.

Referring annotations: ``ref_file`` is either

* a RefCOCO pickle (``refs(umd).p``, ``refs(synthetic)_train.p``: a list of
  refs with ``image_id``, ``ann_id``, ``category_id``, ``sentences``,
  ``split``) + ``ref_ann_file`` (the instances json holding ``ann_id``'s
  box), or
* a SEEM grounding json (``refs_{split}.json``: ``annotations`` with
  ``image_id``, ``category_id``, ``bbox``, ``sentences``).
"""
import json
import pickle
from collections import defaultdict
from typing import List, Optional

import numpy as np
from mmdet.datasets import CocoPanopticDataset
from mmengine.fileio import get_local_path

from mmseem.registry import DATASETS

__all__ = ['RefCocoPanopticDataset']


def _box_iou(a, b) -> float:
    """IoU of two xyxy boxes."""
    iw = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) \
        - inter
    return inter / union if union > 0 else 0.


@DATASETS.register_module()
class RefCocoPanopticDataset(CocoPanopticDataset):
    """COCO panoptic + referring sentences (see the module docstring).

    Args:
        ref_file (str): referring annotations (pickle or json), relative to
            ``data_root`` unless absolute.
        ref_ann_file (str, optional): instances json with the boxes of the
            pickle's ``ann_id`` (needed for a pickle ``ref_file``).
        ref_split (str, optional): keep only refs of this ``split``.
        min_iou (float): box IoU needed to link a referred object to a
            panoptic segment of the same category. Defaults to 0.5.
        **kwargs: :class:`~mmdet.datasets.CocoPanopticDataset` arguments.
    """

    def __init__(self,
                 *args,
                 ref_file: str = '',
                 ref_ann_file: Optional[str] = None,
                 ref_split: Optional[str] = None,
                 min_iou: float = 0.5,
                 **kwargs):
        if not ref_file:
            raise ValueError('RefCocoPanopticDataset needs ref_file (a refs '
                             'pickle or a SEEM grounding json)')
        self.ref_file = ref_file
        self.ref_ann_file = ref_ann_file
        self.ref_split = ref_split
        self.min_iou = float(min_iou)
        super().__init__(*args, **kwargs)

    def _path(self, p: str) -> str:
        import os.path as osp
        if osp.isabs(p) or not self.data_root:
            return p
        return osp.join(self.data_root, p)

    def _load_refs(self) -> dict:
        """image_id -> list of dict(bbox xyxy, category_id, sentences,
        ref_id)."""
        path = self._path(self.ref_file)
        with get_local_path(path, backend_args=self.backend_args) as lp:
            if path.endswith('.json'):
                with open(lp) as f:
                    anns = json.load(f)['annotations']
            else:
                with open(lp, 'rb') as f:
                    refs = pickle.load(f)
                if not self.ref_ann_file:
                    raise ValueError(
                        f'ref_file {path} is a pickle: give ref_ann_file '
                        '(the instances json with the referred boxes)')
                ann_path = self._path(self.ref_ann_file)
                with get_local_path(
                        ann_path, backend_args=self.backend_args) as ap:
                    with open(ap) as f:
                        boxes = {a['id']: a['bbox']
                                 for a in json.load(f)['annotations']}
                anns = []
                for r in refs:
                    if r['ann_id'] not in boxes:
                        continue
                    anns.append(dict(r, bbox=boxes[r['ann_id']]))
        by_img = defaultdict(list)
        for a in anns:
            if self.ref_split is not None and \
                    a.get('split', self.ref_split) != self.ref_split:
                continue
            sents = [s['raw'] if isinstance(s, dict) else str(s)
                     for s in a.get('sentences', [])]
            sents = [s.strip().lower() for s in sents if s and s.strip()]
            if not sents:
                continue
            x, y, w, h = a['bbox']
            by_img[a['image_id']].append(
                dict(bbox=[x, y, x + w, y + h],
                     category_id=a['category_id'],
                     sentences=sents,
                     ref_id=a.get('ref_id', a.get('id'))))
        return by_img

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        refs = self._load_refs()
        for info in data_list:
            linked = []
            for r in refs.get(info['img_id'], []):
                label = self.cat2label.get(r['category_id'])
                best, best_iou = -1, self.min_iou
                for k, inst in enumerate(info['instances']):
                    if inst.get('ignore_flag', 0) or \
                            inst['bbox_label'] != label:
                        continue
                    iou = _box_iou(inst['bbox'], r['bbox'])
                    if iou >= best_iou:
                        best, best_iou = k, iou
                if best >= 0:
                    linked.append(dict(inst_index=best,
                                       sentences=r['sentences'],
                                       ref_id=r['ref_id']))
            info['referring'] = linked
        return data_list

    def num_referring(self) -> np.ndarray:
        """Number of linked referred objects per image."""
        return np.array([len(self.get_data_info(i)['referring'])
                         for i in range(len(self))])
