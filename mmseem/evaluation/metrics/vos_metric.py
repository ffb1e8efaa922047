"""DAVIS video-object-segmentation metric: J-mean, F-mean and J&F.

SEEM-specific, not in mmdet/mmseg. Follows the semi-supervised protocol of
the DAVIS-2017 toolkit (``davis2017/evaluation.py``): per frame and per
object, J (region IoU) and F (boundary F-measure, see
:mod:`mmseem.evaluation.functional.vos_measures`) are computed; the first
frame (the given reference mask) and the last frame of every sequence are
left out; each object's J / F is its mean over frames; the reported J-mean /
F-mean are means over all objects of all sequences, and
``J&F = (J-mean + F-mean) / 2``. Values are in %.

Inputs per data sample (one frame):

* ``seq_name`` (str), ``frame_idx`` (int) and optionally ``num_frames``
  (int; otherwise the largest index seen is taken as the last frame);
* prediction: ``pred_masks`` [K, H, W] per-object masks, or an object-id map
  (``pred_sem_seg.data`` [1, H, W] or ``pred_id_map`` [H, W], 0 = background,
  k = object k);
* ground truth: ``gt_masks`` [K, H, W] or an id map (``gt_sem_seg.data`` /
  ``gt_id_map``) in which ``void_label`` (255) marks void pixels (DAVIS-2017);
  optional ``num_objects`` (from the first frame, as DAVIS) fixes K.
"""
from collections import defaultdict
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmseem.evaluation.functional.vos_measures import (DAVIS_BOUND_TH,
                                                       boundary_f_measure,
                                                       region_similarity)
from mmseem.registry import METRICS


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _get(sample, key):
    """Fetch ``key`` from a dict / data sample, unwrapping ``.data``."""
    value = sample.get(key) if isinstance(sample, dict) else getattr(
        sample, key, None)
    if isinstance(value, dict) and 'data' in value:  # PixelData.to_dict()
        value = value['data']
    elif hasattr(value, 'data') and not isinstance(value,
                                                   (np.ndarray, torch.Tensor)):
        value = value.data  # PixelData
    return value


@METRICS.register_module()
class VOSMetric(BaseMetric):
    """DAVIS J / F / J&F per sequence and overall.

    Args:
        bound_th (float): boundary tolerance (fraction of the diagonal, or
            pixels if >= 1). Default 0.008 (DAVIS).
        exclude_first_last (bool): drop the first and last frame of each
            sequence (DAVIS semi-supervised protocol). Default True.
        void_label (int): void id in GT id maps. Default 255.
        per_sequence (bool): also report ``<seq>/J-mean`` etc.
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`.
    """
    default_prefix: Optional[str] = 'vos'

    def __init__(self,
                 bound_th: float = DAVIS_BOUND_TH,
                 exclude_first_last: bool = True,
                 void_label: int = 255,
                 per_sequence: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.bound_th = bound_th
        self.exclude_first_last = exclude_first_last
        self.void_label = void_label
        self.per_sequence = per_sequence

    def _masks(self, sample, kind: str, num_objects: Optional[int]):
        """Return bool [K, H, W] masks and the void map [H, W] (or None)."""
        masks = _get(sample, f'{kind}_masks')
        if masks is not None:
            masks = _numpy(masks.to_ndarray() if hasattr(masks, 'to_ndarray')
                           else masks).astype(bool)
            if masks.ndim == 2:
                masks = masks[None]
            return masks, None
        id_map = _get(sample, f'{kind}_sem_seg')
        if id_map is None:
            id_map = _get(sample, f'{kind}_id_map')
        if id_map is None:
            raise KeyError(f'data sample has no {kind}_masks, {kind}_sem_seg '
                           f'or {kind}_id_map')
        id_map = _numpy(id_map)
        id_map = id_map.reshape(id_map.shape[-2:])
        void = id_map == self.void_label if kind == 'gt' else None
        if num_objects is None:
            valid = id_map[id_map != self.void_label]
            num_objects = int(valid.max()) if valid.size else 0
        ids = np.arange(1, num_objects + 1)[:, None, None]
        return id_map[None] == ids, void

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Compute per-object J and F of each frame."""
        for sample in data_samples:
            seq = _get(sample, 'seq_name')
            frame_idx = _get(sample, 'frame_idx')
            if seq is None or frame_idx is None:
                raise KeyError('VOSMetric needs seq_name and frame_idx in '
                               'every data sample (DAVISDataset sets them)')
            num_objects = _get(sample, 'num_objects')
            gt, void = self._masks(sample, 'gt', num_objects)
            pred, _ = self._masks(sample, 'pred', len(gt))
            if pred.shape[1:] != gt.shape[1:]:
                raise ValueError(f'prediction size {pred.shape[1:]} differs '
                                 f'from GT size {gt.shape[1:]} in {seq} '
                                 f'frame {frame_idx}')
            if len(pred) < len(gt):  # missing objects = empty predictions
                pad = np.zeros((len(gt) - len(pred), ) + gt.shape[1:], bool)
                pred = np.concatenate([pred, pad])
            elif len(pred) > len(gt):
                raise ValueError(f'{len(pred)} predicted objects but only '
                                 f'{len(gt)} in the GT of {seq}')
            j = [region_similarity(p, g, void) for p, g in zip(pred, gt)]
            f = [
                boundary_f_measure(p, g, void, self.bound_th)
                for p, g in zip(pred, gt)
            ]
            self.results.append(
                dict(
                    seq_name=str(seq),
                    frame_idx=int(frame_idx),
                    num_frames=_get(sample, 'num_frames'),
                    j=np.asarray(j, np.float64),
                    f=np.asarray(f, np.float64)))

    def compute_metrics(self, results: list) -> dict:
        """Per-object frame means, then means over objects (in %)."""
        by_seq = defaultdict(list)
        for r in results:
            by_seq[r['seq_name']].append(r)
        metrics, all_j, all_f = {}, [], []
        for seq in sorted(by_seq):
            frames = sorted(by_seq[seq], key=lambda r: r['frame_idx'])
            if self.exclude_first_last:
                last = frames[-1]['num_frames']
                last = frames[-1]['frame_idx'] if last is None else last - 1
                frames = [
                    r for r in frames if 0 < r['frame_idx'] < last
                ] or frames  # too short to drop anything: keep all
            num_obj = max(len(r['j']) for r in frames)
            j = np.full((len(frames), num_obj), np.nan)
            f = np.full((len(frames), num_obj), np.nan)
            for t, r in enumerate(frames):
                j[t, :len(r['j'])] = r['j']
                f[t, :len(r['f'])] = r['f']
            j_obj, f_obj = np.nanmean(j, axis=0), np.nanmean(f, axis=0)
            all_j.extend(j_obj)
            all_f.extend(f_obj)
            if self.per_sequence:
                metrics[f'{seq}/J-mean'] = float(j_obj.mean() * 100)
                metrics[f'{seq}/F-mean'] = float(f_obj.mean() * 100)
                metrics[f'{seq}/J&F'] = float(
                    (j_obj.mean() + f_obj.mean()) * 50)
        j_mean, f_mean = float(np.mean(all_j)), float(np.mean(all_f))
        metrics['J-mean'] = j_mean * 100
        metrics['F-mean'] = f_mean * 100
        metrics['J&F'] = (j_mean + f_mean) * 50
        return metrics
