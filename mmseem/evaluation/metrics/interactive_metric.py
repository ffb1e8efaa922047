"""Interactive-segmentation metric: NoC, NoF and the mIoU-per-click curve.

SEEM-specific, not in mmdet/mmseg. The metric is model-agnostic: it consumes
per-object IoU-per-click arrays produced by any interactive evaluation loop
(e.g. :func:`mmseem.evaluation.functional.run_interactive_session`), stored
in each data sample under ``iou_key`` (default ``'interactive_ious'``) as
[num_objects, num_clicks] (or [num_clicks] for one object).

Definitions (both protocols average over *objects*, as RITM's
``compute_noc_metric`` and SEEM's ``InteractiveEvaluator``, which both treat
every object as one sample):

* ``NoC@t``: clicks needed to first reach IoU ``>= t``; an object that never
  does within ``max_clicks`` counts ``max_clicks``. Mean over objects.
* ``NoF@t``: number of objects that never reach IoU ``>= t`` within
  ``max_clicks`` clicks (a count, not a rate). RITM's table counts
  ``NoC == max_clicks`` instead, which also includes objects reaching the
  target exactly at the last click; ``nof_rule='ritm'`` gives that variant.
* ``mIoU@k``: mean IoU after ``k`` clicks, k = 1..max_clicks; a session that
  stopped early carries its last IoU forward. That is SEEM's own curve
  (its protocol stops when all objects pass 0.9); RITM / SimpleClick click
  on to ``max_clicks`` for mIoU@k, so run the standard protocol without
  ``stop_iou`` (its default) for their curve. SEEM's README column "1-IoU"
  is ``mIoU@1`` (``IOU_ITER: 1``).

NoC and NoF compare IoU and target in the precision the IoUs were stored in
(float32 from the interactive loop, as RITM and SEEM compare).

Protocol defaults: ``'standard'`` (RITM/SimpleClick) reports NoC@85/90/95;
``'seem'`` reports NoC@50/80/85/90 (``InteractiveEvaluator.all_ious``); both
report NoF@85/90. IoUs are in [0, 1]; NoC/NoF are plain numbers; mIoU@k is a
percentage as other mmseem metrics.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmseem.registry import METRICS

_DEFAULT_NOC = {
    'standard': (0.85, 0.90, 0.95),
    'seem': (0.5, 0.8, 0.85, 0.9),
}


def _thr_name(thr: float) -> str:
    """0.85 -> '85', 0.9 -> '90', 0.925 -> '92.5'."""
    return f'{thr * 100:g}'


@METRICS.register_module()
class InteractiveMetric(BaseMetric):
    """NoC / NoF / mIoU@k over per-object IoU-per-click arrays.

    Args:
        protocol (str): ``'standard'`` or ``'seem'``; only selects default
            thresholds (the click protocol itself runs in the model's loop).
        noc_thrs (Sequence[float], optional): IoU targets for NoC.
        nof_thrs (Sequence[float]): IoU targets for NoF. Default (0.85, 0.9).
        max_clicks (int): click budget. Shorter arrays are carried forward,
            longer ones truncated. Default 20.
        nof_rule (str): ``'never_reached'`` (default) or ``'ritm'``
            (``NoC == max_clicks``).
        iou_key (str): key of the IoU array in each data sample.
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`.
    """
    default_prefix: Optional[str] = 'interactive'

    def __init__(self,
                 protocol: str = 'standard',
                 noc_thrs: Optional[Sequence[float]] = None,
                 nof_thrs: Sequence[float] = (0.85, 0.90),
                 max_clicks: int = 20,
                 nof_rule: str = 'never_reached',
                 iou_key: str = 'interactive_ious',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if protocol not in _DEFAULT_NOC:
            raise ValueError(f'protocol must be one of '
                             f'{tuple(_DEFAULT_NOC)}, got {protocol!r}')
        if nof_rule not in ('never_reached', 'ritm'):
            raise ValueError("nof_rule must be 'never_reached' or 'ritm', got "
                             f'{nof_rule!r}')
        if not isinstance(max_clicks, int) or max_clicks < 1:
            raise ValueError(f'max_clicks must be a positive int, got '
                             f'{max_clicks!r}')
        self.protocol = protocol
        self.noc_thrs = tuple(
            _DEFAULT_NOC[protocol] if noc_thrs is None else noc_thrs)
        self.nof_thrs = tuple(nof_thrs)
        for thr in self.noc_thrs + self.nof_thrs:
            if not 0 < thr <= 1:
                raise ValueError(f'IoU thresholds must be in (0, 1], got '
                                 f'{thr}')
        self.max_clicks = max_clicks
        self.nof_rule = nof_rule
        self.iou_key = iou_key

    def _to_object_rows(self, ious) -> np.ndarray:
        """Normalize one sample's IoUs to [num_objects, max_clicks], float32
        when they were stored as float32 (else float64)."""
        if isinstance(ious, torch.Tensor):
            ious = ious.detach().cpu().numpy()
        if isinstance(ious, np.ndarray):
            rows = [ious] if ious.ndim == 1 else list(ious)
            if ious.ndim not in (1, 2):
                raise ValueError(f'{self.iou_key} must be [num_objects, '
                                 f'num_clicks] or [num_clicks], got shape '
                                 f'{ious.shape}')
            dtype = np.float32 if ious.dtype == np.float32 else np.float64
        else:  # list of per-object sequences (possibly ragged) or of floats
            ious = list(ious)
            rows = [ious] if ious and np.isscalar(ious[0]) else ious
            dtype = np.float64
        out = np.empty((len(rows), self.max_clicks), dtype=dtype)
        for i, row in enumerate(rows):
            if isinstance(row, torch.Tensor):
                row = row.detach().cpu().numpy()
            row = np.nan_to_num(
                np.asarray(row, dtype=dtype).reshape(-1), nan=0.0)
            if row.size == 0:
                raise ValueError(f'{self.iou_key} has an object with no '
                                 'clicks; each object needs >= 1 IoU')
            row = row[:self.max_clicks]
            out[i, :row.size] = row
            out[i, row.size:] = row[-1]  # carry the last IoU forward
        return out

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store each sample's per-object IoU curves."""
        for sample in data_samples:
            if self.iou_key not in sample:
                raise KeyError(
                    f'data sample has no {self.iou_key!r}; the model\'s '
                    'interactive loop must store the per-object IoU after '
                    'each click there ([num_objects, num_clicks])')
            self.results.append(self._to_object_rows(sample[self.iou_key]))

    def compute_metrics(self, results: list) -> dict:
        """NoC@t, NoF@t and mIoU@k over all objects."""
        metrics = {}
        for thr in self.noc_thrs:
            noc = self._noc(results, thr)
            metrics[f'NoC@{_thr_name(thr)}'] = float(noc.mean())
        for thr in self.nof_thrs:
            if self.nof_rule == 'ritm':
                nof = (self._noc(results, thr) == self.max_clicks).sum()
            else:
                nof = (~self._reached(results, thr).any(axis=1)).sum()
            metrics[f'NoF@{_thr_name(thr)}'] = int(nof)
        # [num_objects, max_clicks]; float32 -> float64 is exact
        ious = np.concatenate([r.astype(np.float64) for r in results])
        curve = ious.mean(axis=0) * 100
        for k in range(self.max_clicks):
            metrics[f'mIoU@{k + 1}'] = float(curve[k])
        metrics['num_objects'] = int(len(ious))
        MMLogger.get_current_instance().info(
            f'interactive ({self.protocol}) over {len(ious)} objects: ' +
            ', '.join(f'{k}={v:.3f}' for k, v in metrics.items()
                      if not k.startswith('mIoU@') or k == 'mIoU@1'))
        return metrics

    @staticmethod
    def _reached(results: list, thr: float) -> np.ndarray:
        """bool [num_objects, max_clicks]: IoU >= thr, compared in the
        precision each sample's IoUs were stored in. RITM (float32
        ``np.array(ious_list, dtype=np.float32) >= iou_thr``) and SEEM
        (float32 torch IoUs ``>= iou_thr``) both compare in float32, where
        an IoU of exactly 0.9 is ``float32(0.9)`` and reaches 0.9; in
        float64 ``float32(0.9) < 0.9`` would miss it."""
        return np.concatenate([r >= r.dtype.type(thr) for r in results])

    def _noc(self, results: list, thr: float) -> np.ndarray:
        reached = self._reached(results, thr)
        first = reached.argmax(axis=1) + 1
        return np.where(reached.any(axis=1), first, self.max_clicks)
