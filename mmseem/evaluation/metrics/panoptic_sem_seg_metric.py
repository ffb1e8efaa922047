"""mIoU for models whose output is panoptic (mmdet's Mask2Former, SEEM).

mmseg's ``IoUMetric`` reads ``pred_sem_seg.data`` and ``gt_sem_seg.data``;
mmdet's panoptic models and datasets write ``pred_panoptic_seg.sem_seg``
(``label + instance_id * INSTANCE_OFFSET``, ``num_classes`` = void) and
``gt_sem_seg.sem_seg``.  This subclass only translates those fields and
leaves every number to mmseg's ``IoUMetric``.
"""
import torch
from mmseg.evaluation import IoUMetric

from mmseem.registry import METRICS

INSTANCE_OFFSET = 1000  # mmdet.evaluation.functional.INSTANCE_OFFSET


def _pixel_data(sample, key):
    field = sample.get(key)
    if field is None:
        return None
    for name in ('data', 'sem_seg'):
        if name in field:
            return field[name]
    return None


@METRICS.register_module()
class PanopticSemSegMetric(IoUMetric):
    """mmseg ``IoUMetric`` over semantic maps derived from panoptic output.

    Args:
        ignore_index (int): label ignored in the ground truth (255).
        **kwargs: forwarded to ``mmseg.evaluation.IoUMetric``.
    """

    def __init__(self, ignore_index: int = 255, **kwargs):
        super().__init__(ignore_index=ignore_index, **kwargs)

    def process(self, data_batch: dict, data_samples) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            pred = _pixel_data(sample, 'pred_sem_seg')
            if pred is None:
                pan = _pixel_data(sample, 'pred_panoptic_seg')
                if pan is None:
                    raise KeyError(
                        'PanopticSemSegMetric needs `pred_sem_seg` or '
                        '`pred_panoptic_seg` in the predictions; enable '
                        'panoptic or semantic output in the model test_cfg.')
                pred = pan % INSTANCE_OFFSET
                # void (== num_classes) can never match a ground-truth class
                pred = torch.where(pred >= num_classes,
                                   torch.full_like(pred, self.ignore_index),
                                   pred)
            gt = _pixel_data(sample, 'gt_sem_seg')
            if gt is None:
                raise KeyError(
                    'PanopticSemSegMetric needs `gt_sem_seg`: load it with '
                    '`LoadPanopticAnnotations(with_seg=True)` (mmdet) or '
                    '`LoadAnnotations` (mmseg) in the test pipeline.')
            pred = pred.squeeze().to(torch.int64).cpu()
            gt = gt.squeeze().to(pred).cpu()
            if pred.shape != gt.shape:
                raise ValueError(
                    f'prediction {tuple(pred.shape)} and ground truth '
                    f'{tuple(gt.shape)} differ in size: predictions must be '
                    'rescaled to the original image (`ori_shape`).')
            self.results.append(
                self.intersect_and_union(pred, gt, num_classes,
                                         self.ignore_index))
