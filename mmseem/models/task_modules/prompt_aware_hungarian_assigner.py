"""Prompt-aware Hungarian assigner for SEEM's three query groups.

SEEM-specific, not in mmdet/mmseg (official ``HungarianMatcher`` modes
``'default'``, ``'grounding'`` and ``'spatial'``): mmdet's
:class:`~mmdet.models.task_modules.HungarianAssigner` with its match costs
(``ClassificationCost``, ``CrossEntropyLossCost``, ``DiceCost``) evaluated on
one shared set of random points per image, plus

* ``grounding``: grounding queries [Q] vs. the referred objects [T]; the
  class term is :class:`QuerySoftmaxCost` (softmax of the query-phrase
  logits over the *queries*, i.e. "which query is this phrase");
* ``spatial``: the S spatial queries of every visual prompt compete only for
  that prompt's own ground truth: the class term's logits of other prompts'
  queries are ``-inf`` before the softmax and blocked pairs get a large
  finite cost (official ``+inf``; finite keeps the problem feasible), and are
  never returned as matches.
"""
from typing import List, Optional, Union

import torch
from mmcv.ops import point_sample
from mmdet.models.task_modules import AssignResult, HungarianAssigner
from mmdet.models.task_modules.assigners.match_cost import BaseMatchCost
from mmengine.structures import InstanceData
from torch import Tensor

from mmseem.registry import TASK_UTILS

__all__ = ['PromptAwareHungarianAssigner', 'QuerySoftmaxCost']

MODES = ('default', 'grounding', 'spatial')


@TASK_UTILS.register_module()
class QuerySoftmaxCost(BaseMatchCost):
    """Classification cost normalised over queries (SEEM grounding/spatial).

    ``cost[q, n] = -softmax_q(scores)[q, labels[n]] * weight``, where
    ``pred_instances.scores`` [Q, K] are query-to-phrase (or query-to-prompt)
    logits and ``gt_instances.labels`` [N] index their columns. mmdet's
    ``ClassificationCost`` normalises over classes instead.
    """

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        prob = pred_instances.scores.float().softmax(0)
        # a column with every query blocked (-inf) gives NaN: no preference
        prob = torch.nan_to_num(prob, nan=0.0)
        return -prob[:, gt_instances.labels] * self.weight


def _default_costs(class_cost: str) -> List[dict]:
    return [
        dict(type=class_cost, weight=2.0),
        dict(type='mmdet.CrossEntropyLossCost', weight=5.0,
             use_sigmoid=True),
        dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0),
    ]


@TASK_UTILS.register_module()
class PromptAwareHungarianAssigner(HungarianAssigner):
    """One-to-one matching of SEEM's object / grounding / spatial queries.

    Args:
        match_costs (list[dict]): costs of the ``'default'`` mode (object
            queries vs. all GT). Official weights: class 2, mask BCE 5, dice
            5 (``CLASS_WEIGHT``/``MASK_WEIGHT``/``DICE_WEIGHT``).
        grounding_match_costs (list[dict], optional): ``'grounding'`` mode
            costs; default :class:`QuerySoftmaxCost` 2 + BCE 5 + dice 5.
        spatial_match_costs (list[dict], optional): ``'spatial'`` mode
            costs; same default. The official config's ``COST_SPATIAL``
            (5 / 2 / 2) is read but never used by the official matcher (it
            copies the generic weights), so the default follows the code.
        num_points (int): random points per image on which the mask costs
            are computed (official ``TRAIN_NUM_POINTS`` 12544). 0 or masks
            already of shape [n, num_points] (2-D) skip the sampling.
        block_cost (float): cost of a forbidden (query, GT) pair.

    ``assign(pred_instances, gt_instances, img_meta=None, mode='default',
    generator=None)``: ``pred_instances`` has ``scores`` [Q, K] logits and
    ``masks`` [Q, h, w] mask logits (or [Q, num_points]); ``gt_instances``
    has ``labels`` [N] (class ids, or the logit column of each target) and
    ``masks`` [N, H, W] (or [N, num_points]). In ``'spatial'`` mode both
    also carry ``prompt_ids`` ([Q] prompt of each query, [N] prompt of each
    target); in the other modes optional ``prompt_ids`` block pairs too.
    Returns mmdet's :class:`AssignResult` (``gt_inds``: 0 unmatched, i+1
    matched to GT i).
    """

    def __init__(self,
                 match_costs: Union[List[dict], dict, None] = None,
                 grounding_match_costs: Optional[List[dict]] = None,
                 spatial_match_costs: Optional[List[dict]] = None,
                 num_points: int = 12544,
                 block_cost: float = 1e6) -> None:
        super().__init__(match_costs or _default_costs(
            'mmdet.ClassificationCost'))
        self.mode_costs = dict(default=self.match_costs)
        for mode, cfg in (('grounding', grounding_match_costs),
                          ('spatial', spatial_match_costs)):
            cfg = cfg or _default_costs('QuerySoftmaxCost')
            self.mode_costs[mode] = [TASK_UTILS.build(c) for c in cfg]
        if num_points < 0:
            raise ValueError(f'num_points must be >= 0, got {num_points}')
        self.num_points = int(num_points)
        self.block_cost = float(block_cost)

    def _sample_points(self, pred: InstanceData, gt: InstanceData,
                       generator: Optional[torch.Generator]):
        """Mask logits / GT masks -> values at shared random points."""
        pm, gm = pred.masks, gt.masks
        if pm.dim() == 2 and gm.dim() == 2:
            return pm, gm
        if self.num_points == 0:
            gm = gm.float()
            if gm.shape[-2:] != pm.shape[-2:]:
                gm = torch.nn.functional.interpolate(
                    gm[:, None], size=pm.shape[-2:], mode='nearest')[:, 0]
            return pm.flatten(1), gm.flatten(1)
        device = pm.device
        coords = torch.rand((1, self.num_points, 2), generator=generator,
                            device=generator.device if generator is not None
                            else device).to(device)
        pts_pred = point_sample(pm[:, None].float(),
                                coords.expand(len(pm), -1, -1)).squeeze(1)
        pts_gt = point_sample(gm[:, None].float(),
                              coords.expand(len(gm), -1, -1)).squeeze(1)
        return pts_pred, pts_gt

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               img_meta: Optional[dict] = None,
               mode: str = 'default',
               generator: Optional[torch.Generator] = None,
               **kwargs) -> AssignResult:
        """Match queries to GT in ``mode`` (see the class docstring)."""
        if mode not in MODES:
            raise ValueError(f'mode={mode!r} is unknown; choose one of '
                             f'{MODES}')
        num_gts, num_preds = len(gt_instances), len(pred_instances)
        labels = gt_instances.labels
        device = labels.device
        gt_inds = torch.full((num_preds, ), -1, dtype=torch.long,
                             device=device)
        assigned_labels = torch.full((num_preds, ), -1, dtype=torch.long,
                                     device=device)
        if num_gts == 0 or num_preds == 0:
            if num_gts == 0:
                gt_inds[:] = 0
            return AssignResult(num_gts, gt_inds, None,
                                labels=assigned_labels)

        blocked = None
        q_pid = pred_instances.get('prompt_ids')
        g_pid = gt_instances.get('prompt_ids')
        if mode == 'spatial' and (q_pid is None or g_pid is None):
            raise ValueError(
                "mode='spatial' needs prompt_ids in pred_instances (prompt "
                'of every spatial query) and gt_instances (prompt of every '
                'target)')
        if q_pid is not None and g_pid is not None:
            blocked = q_pid[:, None].to(device) != g_pid[None].to(device)

        with torch.no_grad():
            pts_pred, pts_gt = self._sample_points(pred_instances,
                                                   gt_instances, generator)
            scores = pred_instances.scores.detach().float()
            if mode == 'spatial':
                # a query only scores its own prompt's column
                cols = torch.arange(scores.shape[1], device=scores.device)
                scores = scores.masked_fill(
                    q_pid[:, None].to(scores.device) != cols[None],
                    float('-inf'))
            pred = InstanceData(scores=scores, masks=pts_pred.detach())
            gt = InstanceData(labels=labels, masks=pts_gt)
            cost = torch.stack([
                c(pred_instances=pred, gt_instances=gt, img_meta=img_meta)
                for c in self.mode_costs[mode]
            ]).sum(0)
            if blocked is not None:
                cost = cost.masked_fill(blocked, self.block_cost)
            cost = torch.nan_to_num(cost, nan=self.block_cost,
                                    posinf=self.block_cost)

        rows, cols = self._solve(cost.cpu())
        rows, cols = rows.to(device), cols.to(device)
        if blocked is not None and len(rows):
            ok = ~blocked[rows, cols]
            rows, cols = rows[ok], cols[ok]
        gt_inds[:] = 0
        gt_inds[rows] = cols + 1
        assigned_labels[rows] = labels[cols]
        return AssignResult(num_gts, gt_inds, None, labels=assigned_labels)

    @staticmethod
    def _solve(cost: Tensor):
        from scipy.optimize import linear_sum_assignment
        r, c = linear_sum_assignment(cost.numpy())
        return torch.from_numpy(r).long(), torch.from_numpy(c).long()
