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

The pickle is read with :mod:`mmseem.utils.safe_pickle` (builtin containers
and scalars only; a pickle naming any callable is refused before it runs).
Schema errors name the file, the entry and the missing or bad field.
"""
import json
import os.path as osp
from collections import defaultdict
from typing import List, Optional, Sequence

import numpy as np
from mmdet.datasets import CocoPanopticDataset
from mmengine.fileio import get_local_path

from mmseem.registry import DATASETS
from mmseem.utils.coco_schema import coco_schema_error
from mmseem.utils.safe_pickle import UnsafePickleError, safe_pickle_load

__all__ = ['RefCocoPanopticDataset']


def _box_iou(a, b) -> float:
    """IoU of two xyxy boxes."""
    iw = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) \
        - inter
    return inter / union if union > 0 else 0.


def _check_entry(entry, where: str, index: int,
                 fields: Sequence[str]) -> None:
    """Raise a ValueError naming ``where``, the entry and the bad field."""
    if not isinstance(entry, dict):
        raise ValueError(f'{where}: entry {index} is a '
                         f'{type(entry).__name__}, not a dict with '
                         f'{list(fields)}')
    missing = [k for k in fields if k not in entry]
    if missing:
        raise ValueError(f'{where}: entry {index} has no {missing} (it has '
                         f'{sorted(entry)}); every entry needs '
                         f'{list(fields)}')
    box = entry.get('bbox')
    if 'bbox' in fields and not (
            isinstance(box, (list, tuple)) and len(box) == 4
            and all(isinstance(v, (int, float)) for v in box)):
        raise ValueError(f'{where}: entry {index} has bbox {box!r}; '
                         'expected 4 numbers [x, y, w, h]')
    sents = entry.get('sentences')
    if 'sentences' in fields and not isinstance(sents, (list, tuple)):
        raise ValueError(f'{where}: entry {index} has sentences of type '
                         f'{type(sents).__name__}; expected a list of '
                         "str or of dict(raw=...)")
    for sent in sents or ():
        if isinstance(sent, dict) and not isinstance(_sentence(sent), str):
            raise ValueError(f'{where}: entry {index} has a sentence '
                             f"{sent!r} without a 'raw' (or 'sent') string")


def _sentence(sent):
    """The text of one RefCOCO sentence (a str or ``dict(raw=..)``)."""
    if isinstance(sent, dict):
        return sent.get('raw', sent.get('sent'))
    return str(sent)


def _annotations(data, where: str) -> list:
    if not isinstance(data, dict) or \
            not isinstance(data.get('annotations'), list):
        got = sorted(data) if isinstance(data, dict) else \
            type(data).__name__
        raise ValueError(f"{where} has no top-level 'annotations' list "
                         f'(got {got})')
    return data['annotations']


def _load_json(path: str, local: str, what: str):
    try:
        with open(local) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{what} {path} is not valid JSON ({e})') from e


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
        if osp.isabs(p) or not self.data_root:
            return p
        return osp.join(self.data_root, p)

    def _load_refs(self) -> dict:
        """image_id -> list of dict(bbox xyxy, category_id, sentences,
        ref_id)."""
        path = self._path(self.ref_file)
        with get_local_path(path, backend_args=self.backend_args) as lp:
            if path.endswith('.json'):
                where = f'ref_file {path} (SEEM grounding json)'
                anns = _annotations(_load_json(path, lp, 'ref_file'), where)
                for i, a in enumerate(anns):
                    _check_entry(a, where, i, ('image_id', 'category_id',
                                               'bbox', 'sentences'))
            else:
                if not self.ref_ann_file:
                    raise ValueError(
                        f'ref_file {path} is a pickle: give ref_ann_file '
                        '(the instances json with the referred boxes)')
                anns = self._refs_from_pickle(path, lp)
        by_img = defaultdict(list)
        for a in anns:
            if self.ref_split is not None and \
                    a.get('split', self.ref_split) != self.ref_split:
                continue
            sents = [_sentence(s) for s in a.get('sentences', [])]
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

    def _refs_from_pickle(self, path: str, local: str) -> list:
        """Refs of a RefCOCO pickle with the boxes of ``ref_ann_file``."""
        try:
            with open(local, 'rb') as f:
                refs = safe_pickle_load(f, source=path)
        except UnsafePickleError:
            raise
        except Exception as e:  # truncated / not a pickle: many types
            raise ValueError(
                f'ref_file {path} is not a readable pickle ({type(e).__name__}'
                f': {e}); expected a RefCOCO refs file (a list of dicts with '
                "'image_id', 'ann_id', 'category_id', 'sentences') or a "
                '.json grounding file') from e
        where = f'ref_file {path} (RefCOCO refs pickle)'
        if not isinstance(refs, list):
            raise ValueError(f'{where} holds a {type(refs).__name__}, not a '
                             'list of refs')
        for i, r in enumerate(refs):
            _check_entry(r, where, i, ('image_id', 'ann_id', 'category_id',
                                       'sentences'))
        ann_path = self._path(self.ref_ann_file)
        with get_local_path(ann_path, backend_args=self.backend_args) as ap:
            ann_where = f'ref_ann_file {ann_path} (instances json)'
            boxes = {}
            for i, a in enumerate(_annotations(
                    _load_json(ann_path, ap, 'ref_ann_file'), ann_where)):
                _check_entry(a, ann_where, i, ('id', 'bbox'))
                boxes[a['id']] = a['bbox']
        return [dict(r, bbox=boxes[r['ann_id']]) for r in refs
                if r['ann_id'] in boxes]

    def load_data_list(self) -> List[dict]:
        if self.ann_file and '://' not in self.ann_file and \
                not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'COCO panoptic annotations {self.ann_file} not found '
                f'(data_root={self.data_root!r}): put COCO there (README, '
                '"Data") or point the config at your copy with --cfg-options '
                'train_dataloader.dataset.data_root=/path/to/coco/')
        try:
            data_list = super().load_data_list()
        except (KeyError, TypeError, IndexError, AttributeError) as e:
            raise coco_schema_error(self.ann_file, 'panoptic', e) from e
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
