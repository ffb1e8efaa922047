"""SEEM training criterion: loss terms from decoder outputs and targets.

SEEM-specific, not in mmdet/mmseg (official ``SetCriterion``). The head
(:meth:`SEEMHead.loss`) builds the targets (:mod:`.seem_targets`), runs the
corrective prompt rounds and the final pass, and calls
:meth:`SEEMLoss.loss_by_feat`, which matches every prediction set (the last
and each ``aux_outputs`` entry, separately) and computes:

   ========== ================================== ====== ===== =====
   task       class term                          CE     BCE   dice
   ========== ================================== ====== ===== =====
   generic    softmax CE over K classes + no-obj  2.0    5.0   5.0
   grounding  soft-target CE over queries         0.4    1.0   1.0
   spatial    CE over spatial queries (mask       0.4    1.0   1.0
              embedding . prompt vector)
   ========== ================================== ====== ===== =====

   The no-object class has weight 0.1; the grounding CE is further scaled by
   2.0 for sentences and 0.5 for class-name fallbacks. Mask terms are
   computed on ``num_points`` points (importance sampling of uncertain
   points, mmdet's ``get_uncertain_point_coords_with_randomness``).

Loss names: ``loss_cls``, ``loss_mask``, ``loss_dice``,
``loss_grounding_{ce,bce,dice}``, ``loss_spatial_{ce,bce,dice}`` for the last
layer, prefixed ``d{i}.`` for the i-th auxiliary prediction set (mmdet's
Mask2Former convention).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.ops import point_sample
from mmdet.models.utils import get_uncertain_point_coords_with_randomness
from mmdet.utils import reduce_mean
from mmengine.dist import get_rank
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmseem.registry import MODELS, TASK_UTILS
from ..heads.decoder_outputs import grounding_similarity
from .seem_targets import SEEMTargets, resolve_class_names

__all__ = ['SEEMLoss']

TASKS = ('generic', 'grounding', 'spatial')


def _soft_ce(logits: Tensor, target: Tensor) -> Tensor:
    """Mean over rows of ``-sum(target * log_softmax(logits))``."""
    return torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1).mean()


@MODELS.register_module()
class SEEMLoss(nn.Module):
    """SEEM's criterion (``train_cfg.criterion`` of :class:`SEEM`).

    Args:
        assigner (dict): :class:`PromptAwareHungarianAssigner` config.
        prompt_simulator (dict): :class:`InteractivePromptSimulator` config
            (official recipe: ``max_instances=10``, ``max_rounds=5``).
        tasks (Sequence[str]): subset of ``('generic', 'grounding',
            'spatial')``; tasks the decoder cannot run (``spatial=False`` /
            ``grounding=False``) are skipped. X-Decoder: generic+grounding.
        num_points (int): points per mask for the mask losses (official
            ``TRAIN_NUM_POINTS`` 12544).
        oversample_ratio (float): official 3.0.
        importance_sample_ratio (float): official 0.75.
        no_object_weight (float): CE weight of the no-object class (0.1).
        loss_cls / loss_mask / loss_dice (dict): mmdet losses of the
            generic task (weights 2 / 5 / 5).
        grounding_weights (dict): ``ce``/``bce``/``dice`` (0.4 / 1 / 1).
        spatial_weights (dict): ``ce``/``bce``/``dice`` (0.4 / 1 / 1).
        grounding_text_weight (float): CE scale for sentences (2.0).
        grounding_class_weight (float): CE scale for class names (0.5).
        max_grounding (int): at most this many sentences / classes per image
            (``randint(1, max_grounding)``; official ``MAX_LEN - 1`` = 4).
        class_fallback (bool): ground class names when an image has no
            sentence (official). Defaults to True.
        class_names (dict | str, optional): training vocabulary:
            ``dict(thing_classes=[...], stuff_classes=[...])`` or the name of
            a registered dataset whose ``METAINFO`` has them (e.g.
            ``'mmdet.CocoPanopticDataset'``). Default: the model's vocabulary
            (``set_vocabulary`` / ``test_cfg.vocabulary``).
        deep_supervision (bool): losses on ``aux_outputs`` too.
        seed (int, optional): base seed; the prompt simulation, prompt
            templates and decoder sampling of iteration ``i`` use
            ``(seed, i)`` (and the distributed rank), and :meth:`step_seed`
            seeds everything else of the step (mmdet's point sampling, drop
            path), so a resumed run repeats an uninterrupted one. None draws the base seed once, at
            construction, from torch's global RNG (which mmengine's
            ``randomness.seed`` fixes).
        check_finite (bool): raise ``FloatingPointError`` naming the term
            when a loss is NaN/inf.
    """

    def __init__(self,
                 assigner: dict = dict(
                     type='PromptAwareHungarianAssigner', num_points=12544),
                 prompt_simulator: dict = dict(
                     type='InteractivePromptSimulator',
                     max_instances=10,
                     max_rounds=5),
                 tasks: Sequence[str] = TASKS,
                 num_points: int = 12544,
                 oversample_ratio: float = 3.0,
                 importance_sample_ratio: float = 0.75,
                 no_object_weight: float = 0.1,
                 loss_cls: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=2.0),
                 loss_mask: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=5.0),
                 loss_dice: dict = dict(
                     type='mmdet.DiceLoss',
                     use_sigmoid=True,
                     activate=True,
                     naive_dice=True,
                     eps=1.0,
                     loss_weight=5.0),
                 grounding_weights: dict = dict(ce=0.4, bce=1.0, dice=1.0),
                 spatial_weights: dict = dict(ce=0.4, bce=1.0, dice=1.0),
                 grounding_text_weight: float = 2.0,
                 grounding_class_weight: float = 0.5,
                 max_grounding: int = 4,
                 class_fallback: bool = True,
                 class_names: Union[dict, str, None] = None,
                 deep_supervision: bool = True,
                 seed: Optional[int] = None,
                 check_finite: bool = True):
        super().__init__()
        unknown = set(tasks) - set(TASKS)
        if unknown or not tasks:
            raise ValueError(f'tasks must be a non-empty subset of {TASKS}, '
                             f'got {tuple(tasks)}')
        if num_points < 1 or oversample_ratio < 1 or \
                not 0 <= importance_sample_ratio <= 1:
            raise ValueError(
                'need num_points >= 1, oversample_ratio >= 1 and '
                f'0 <= importance_sample_ratio <= 1; got {num_points}, '
                f'{oversample_ratio}, {importance_sample_ratio}')
        if max_grounding < 1:
            raise ValueError(f'max_grounding must be >= 1: {max_grounding}')
        self.tasks = tuple(tasks)
        self.assigner = TASK_UTILS.build(assigner)
        self.simulator = TASK_UTILS.build(prompt_simulator)
        self.num_points = int(num_points)
        self.oversample_ratio = float(oversample_ratio)
        self.importance_sample_ratio = float(importance_sample_ratio)
        self.no_object_weight = float(no_object_weight)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        # unit-weight copies for the grounding / spatial mask terms
        self._bce = MODELS.build(dict(loss_mask, loss_weight=1.0))
        self._dice = MODELS.build(dict(loss_dice, loss_weight=1.0))
        self.grounding_weights = dict(ce=0.4, bce=1.0, dice=1.0)
        self.grounding_weights.update(grounding_weights)
        self.spatial_weights = dict(ce=0.4, bce=1.0, dice=1.0)
        self.spatial_weights.update(spatial_weights)
        self.grounding_task_weight = dict(
            text=float(grounding_text_weight),
            class_=float(grounding_class_weight))
        self.max_grounding = int(max_grounding)
        self.class_fallback = class_fallback
        self.class_names = resolve_class_names(class_names)
        self.deep_supervision = deep_supervision
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1, )).item())
        self.seed = int(seed)
        self.check_finite = check_finite
        self._calls = 0

    # ------------------------------------------------------------------
    # setup helpers
    # ------------------------------------------------------------------
    def vocabulary(self, model_vocabulary: Optional[Tuple[List[str],
                                                            List[str]]]
                   ) -> Tuple[List[str], List[str]]:
        """``class_names`` if set, else the model's vocabulary."""
        if self.class_names is not None:
            return self.class_names
        if model_vocabulary is None:
            raise ValueError('SEEMLoss needs a vocabulary: set class_names '
                             'or the model\'s vocabulary')
        return model_vocabulary

    def _iteration(self) -> int:
        it = MessageHub.get_current_instance().get_info('iter')
        return self._calls if it is None else int(it)

    def step_seed(self) -> int:
        """Seed of the global RNGs for this training step, a function of
        ``(seed, iteration, rank)`` only (mmengine's message hub ``iter``,
        which a resumed run restores; each distributed rank draws its own
        stream)."""
        return (int(self.seed) * 7_919 + 104_729 * self._iteration() +
                15_485_863 * get_rank() + 1) % (2**31 - 1)

    def generators(self, device):
        """Per-iteration RNGs: numpy (prompt simulator), torch CPU (prompt
        templates, sampled classes), torch on ``device`` (decoder)."""
        it = self._iteration()
        self._calls += 1
        rank = get_rank()  # ranks see other images: other prompt streams
        seed = (int(self.seed) * 1_000_003 + it + 7_777_777 * rank) % (2**62)
        np_rng = np.random.default_rng([int(self.seed), it] +
                                       ([rank] if rank else []))
        cpu = torch.Generator().manual_seed(seed)
        dev = torch.Generator(device=device).manual_seed(seed)
        return np_rng, cpu, dev

    # ------------------------------------------------------------------
    # loss terms
    # ------------------------------------------------------------------
    def _point_losses(self, src: Tensor, tgt: Tensor, num_masks: float,
                      bce, dice) -> Tuple[Tensor, Tensor]:
        """Point-sampled BCE / dice of mask logits ``src`` [M, h, w] vs.
        targets ``tgt`` [M, H, W]."""
        if len(src) == 0:
            zero = src.sum() * 0.0
            return zero, zero
        src = src[:, None].float()
        with torch.no_grad():
            coords = get_uncertain_point_coords_with_randomness(
                src, None, self.num_points, self.oversample_ratio,
                self.importance_sample_ratio)
            labels = point_sample(tgt[:, None].float(), coords).squeeze(1)
        logits = point_sample(src, coords).squeeze(1)
        l_bce = bce(logits.reshape(-1), labels.reshape(-1),
                    avg_factor=num_masks * self.num_points)
        l_dice = dice(logits, labels, avg_factor=num_masks)
        return l_bce, l_dice

    def _generic_loss(self, out, panoptic, num_masks, gen):
        logits, masks = out['pred_logits'], out['pred_masks']
        bs, nq, k = logits.shape
        labels = logits.new_full((bs, nq), k - 1, dtype=torch.long)
        src, tgt = [], []
        for b, gt in enumerate(panoptic):
            res = self.assigner.assign(
                InstanceData(scores=logits[b], masks=masks[b]), gt,
                mode='default', generator=gen)
            q = (res.gt_inds > 0).nonzero().flatten()
            g = res.gt_inds[q] - 1
            labels[b, q] = gt.labels[g]
            src.append(masks[b, q])
            tgt.append(gt.masks[g])
        weight = torch.ones_like(labels, dtype=logits.dtype)
        weight[labels == k - 1] = self.no_object_weight
        l_cls = self.loss_cls(logits.flatten(0, 1), labels.flatten(),
                              weight.flatten(), avg_factor=weight.sum())
        l_mask, l_dice = self._point_losses(
            torch.cat(src), torch.cat(tgt), num_masks, self.loss_mask,
            self.loss_dice)
        return dict(loss_cls=l_cls, loss_mask=l_mask, loss_dice=l_dice)

    def _grounding_loss(self, out, gtargets, logit_scale, gen):
        w = self.grounding_weights
        src, tgt, ces = [], [], []
        for b, t in enumerate(gtargets):
            if t.mode is None:
                continue
            sim = grounding_similarity(out['pred_gtexts'][b], t.class_emb,
                                       logit_scale)
            n = len(t.texts)
            res = self.assigner.assign(
                InstanceData(scores=sim, masks=out['pred_gmasks'][b]),
                InstanceData(labels=torch.arange(n, device=sim.device),
                             masks=t.masks),
                mode='grounding', generator=gen)
            q = (res.gt_inds > 0).nonzero().flatten()
            g = res.gt_inds[q] - 1
            onehot = torch.zeros_like(sim)
            onehot[q, g] = 1
            h = torch.tensor(t.hash, device=sim.device)
            same = (h[:, None] == h[None]).to(sim.dtype)
            soft = onehot @ (same / same.sum(-1, keepdim=True))
            ces.append(self.grounding_task_weight[t.mode] *
                       _soft_ce(sim.t(), soft.t()))
            src.append(out['pred_gmasks'][b, q])
            tgt.append(t.masks[g])
        zero = out['pred_gmasks'].sum() * 0.0
        if not ces:
            return dict(loss_grounding_ce=zero, loss_grounding_bce=zero,
                        loss_grounding_dice=zero)
        src, tgt = torch.cat(src), torch.cat(tgt)
        l_bce, l_dice = self._point_losses(src, tgt, max(len(src), 1),
                                           self._bce, self._dice)
        return dict(
            loss_grounding_ce=w['ce'] * torch.stack(ces).mean(),
            loss_grounding_bce=w['bce'] * l_bce,
            loss_grounding_dice=w['dice'] * l_dice)

    def _spatial_loss(self, out, sp, queries_per_prompt, gen):
        w = self.spatial_weights
        s = queries_per_prompt
        emb, pvec = out['pred_smaskembs'], out['pred_pspatials']
        pos_logits = emb @ pvec.transpose(1, 2)  # [B, P*S, P]
        num_p = pvec.shape[1]
        q_pid = torch.arange(num_p, device=emb.device).repeat_interleave(s)
        src, tgt, ces = [], [], []
        for b, x in enumerate(sp):
            p = len(x.gt)
            ids = torch.arange(p, device=emb.device)
            res = self.assigner.assign(
                InstanceData(scores=pos_logits[b],
                             masks=out['pred_smasks'][b], prompt_ids=q_pid),
                InstanceData(labels=ids, masks=x.gt, prompt_ids=ids),
                mode='spatial', generator=gen)
            q = (res.gt_inds > 0).nonzero().flatten()
            g = res.gt_inds[q] - 1
            keep = x.valid[g] & x.gt[g].flatten(1).any(1)
            q, g = q[keep], g[keep]
            if len(q) == 0:
                continue
            # each target's row: its matched query among all P*S queries
            rows = pos_logits[b].t()[g]  # [M, P*S]
            ces.append(F.cross_entropy(rows, q, reduction='none'))
            src.append(out['pred_smasks'][b, q])
            tgt.append(x.gt[g])
        zero = out['pred_smasks'].sum() * 0.0
        if not ces:
            return dict(loss_spatial_ce=zero, loss_spatial_bce=zero,
                        loss_spatial_dice=zero)
        src, tgt = torch.cat(src), torch.cat(tgt)
        l_bce, l_dice = self._point_losses(src, tgt, len(src), self._bce,
                                           self._dice)
        return dict(
            loss_spatial_ce=w['ce'] * torch.cat(ces).mean(),
            loss_spatial_bce=w['bce'] * l_bce,
            loss_spatial_dice=w['dice'] * l_dice)

    # ------------------------------------------------------------------
    # entry point
    # ------------------------------------------------------------------
    def loss_by_feat(self, out: Dict, targets: SEEMTargets,
                     logit_scale: Tensor, queries_per_prompt: int,
                     gen: Optional[torch.Generator]) -> Dict[str, Tensor]:
        """Loss terms of the decoder outputs ``out`` (last set and, with
        deep supervision, every ``aux_outputs`` set) against ``targets``.

        Args:
            out (dict): decoder outputs of the final pass.
            targets (SEEMTargets): from :mod:`.seem_targets` (grounding
                targets with their ``class_emb``).
            logit_scale (Tensor): the language encoder's ``logit_scale``
                (grounding similarity).
            queries_per_prompt (int): spatial queries S per prompt.
            gen (torch.Generator, optional): the matching's random stream.
        """
        panoptic = targets.panoptic
        device = out['pred_masks'].device if 'pred_masks' in out else \
            out['pred_smasks'].device
        num_masks = reduce_mean(
            torch.tensor(float(sum(len(t.labels) for t in panoptic)),
                         device=device)).clamp(min=1).item()
        sets = [('', out)]
        if self.deep_supervision:
            sets += [(f'd{j}.', o)
                     for j, o in enumerate(out.get('aux_outputs', []))]
        losses = {}
        for prefix, o in sets:
            terms = {}
            if 'generic' in self.tasks:
                terms.update(self._generic_loss(o, panoptic, num_masks, gen))
            if targets.grounding is not None:
                terms.update(
                    self._grounding_loss(o, targets.grounding, logit_scale,
                                         gen))
            if targets.spatial is not None:
                terms.update(
                    self._spatial_loss(o, targets.spatial,
                                       queries_per_prompt, gen))
            losses.update({prefix + k: v for k, v in terms.items()})
        if self.check_finite:
            self._check_finite(losses)
        return losses

    @staticmethod
    def _check_finite(losses: Dict[str, Tensor]) -> None:
        vals = torch.stack([v.detach().float() for v in losses.values()])
        ok = torch.isfinite(vals)
        if not bool(ok.all()):
            bad = {k: float(v.detach()) for (k, v), good in zip(
                losses.items(), ok.tolist()) if not good}
            raise FloatingPointError(
                f'SEEMLoss: non-finite loss term(s) {bad}. Lower the learning '
                'rate, enable gradient clipping, or check the inputs / '
                'annotations of this batch (empty or mis-sized masks).')
