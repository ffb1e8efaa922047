"""Referring-segmentation metric: cIoU, mIoU and Prec@k.

Extends mmdet 3.3's ``RefSegMetric`` (cIoU = cumulative intersection /
cumulative union over all expressions, mIoU = mean per-expression IoU, empty
union -> 0) with ``Prec@k`` = % of expressions with IoU ``>= k`` for
k in 0.5..0.9, which SEEM's ``GroundingEvaluator`` also reports
(``precision@k``; SEEM's README "AP50" on RefCOCOg is ``Prec@0.5``).
``RefSegMetric`` only keeps sums, so ``process`` is overridden to also keep
the per-expression IoUs; cIoU / mIoU come from the parent unchanged.

Inputs per data sample: ``pred_instances.masks`` [N, H, W] (bool, or
probabilities thresholded at 0.5) and ``gt_masks`` [N, H, W]
(``BitmapMasks`` or tensor), one row per referring expression.
"""
from typing import Optional, Sequence

import torch
from mmdet.evaluation.metrics import RefSegMetric

from mmseem.registry import METRICS


def _get(obj, key):
    return obj[key] if isinstance(obj, dict) else getattr(obj, key)


@METRICS.register_module()
class ReferringMetric(RefSegMetric):
    """mmdet ``RefSegMetric`` + precision at IoU thresholds.

    Args:
        metric (Sequence[str]): subset of ``('cIoU', 'mIoU')``.
        iou_thrs (Sequence[float]): thresholds for ``Prec@k``.
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`.
    """

    def __init__(self,
                 metric: Sequence[str] = ('cIoU', 'mIoU'),
                 iou_thrs: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            metric=metric, collect_device=collect_device, prefix=prefix)
        self.iou_thrs = tuple(iou_thrs)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store (I, U, sum IoU, count) as the parent, plus per-mask IoUs."""
        for sample in data_samples:
            pred = _get(_get(sample, 'pred_instances'), 'masks')
            pred = torch.as_tensor(pred)
            pred = pred > 0.5 if pred.is_floating_point() else pred.bool()
            gt = _get(sample, 'gt_masks')
            gt = gt.to_tensor(torch.bool, pred.device) if hasattr(
                gt, 'to_tensor') else torch.as_tensor(gt).to(pred.device)
            gt = gt.bool()
            if pred.dim() == 2:
                pred, gt = pred[None], gt.reshape(1, *gt.shape[-2:])
            if pred.shape != gt.shape:
                raise ValueError(f'pred_instances.masks {tuple(pred.shape)} '
                                 f'and gt_masks {tuple(gt.shape)} differ; '
                                 'resize predictions to the GT size first')
            overlap, union = self.compute_iou(pred, gt)
            n = len(pred)
            inter_n = overlap.reshape(n, -1).sum(-1).double()
            union_n = union.reshape(n, -1).sum(-1).double()
            iou = torch.nan_to_num(inter_n / union_n, nan=0.0).cpu()
            self.results.append(
                (overlap.sum().cpu(), union.sum().cpu(), iou.sum(), n, iou))

    def compute_metrics(self, results: list) -> dict:
        """cIoU, mIoU (parent, in %) and Prec@k (in %)."""
        metrics = {
            k: float(v)
            for k, v in super().compute_metrics(
                [r[:4] for r in results]).items()
        }
        ious = torch.cat([r[4] for r in results])
        for thr in self.iou_thrs:
            metrics[f'Prec@{thr:g}'] = float((ious >= thr).double().mean() *
                                             100)
        return metrics
