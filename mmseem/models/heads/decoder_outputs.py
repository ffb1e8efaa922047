"""SEEM decoder outputs: per-set dicts and the readers of them.

SEEM-specific, not in mmdet/mmseg. The decoder's prediction heads give, for
the whole query sequence of one prediction set, class logits, masks,
caption embeddings and mask embeddings; :func:`organize_outputs` cuts them
into SEEM's official output keys per query group (object, grounding,
spatial). :func:`select_spatial_masks` picks the best of the S spatial
queries per prompt (interactive ``prev_mask``), :func:`grounding_similarity`
scores grounding queries against phrases.
"""
from typing import Dict, Tuple

import torch
from torch import Tensor

__all__ = ['organize_outputs', 'select_spatial_masks',
           'grounding_similarity']


def organize_outputs(p: Dict, sl: Dict[str, slice], vp, use_spatial: bool,
                     use_grounding: bool, spatial_only: bool = False) -> Dict:
    """Prediction-head outputs ``p`` of one set -> official keys.

    Object queries: ``pred_logits`` [B, Qo, K] (when a vocabulary was
    given), ``pred_masks`` [B, Qo, h, w], with prompts ``pred_captions``;
    grounding queries: ``pred_gmasks``, ``pred_gtexts``; spatial queries:
    ``pred_smasks`` [B, P*S, h, w], ``pred_stexts``, ``pred_smaskembs``
    [B, P*S, C] and the prompts' mean vectors ``pred_pspatials`` /
    ``pred_nspatials`` [B, P, C].
    """
    o, out = sl['object'], {}
    if not spatial_only:
        if p['logits'] is not None:
            out['pred_logits'] = p['logits'][:, o]
        out['pred_masks'] = p['masks'][:, o]
        if use_spatial or use_grounding:
            out['pred_captions'] = p['caption'][:, o]
    if use_grounding:
        g = sl['grounding']
        out['pred_gmasks'] = p['masks'][:, g]
        out['pred_gtexts'] = p['caption'][:, g]
    if use_spatial:
        s = sl['spatial']
        out['pred_smasks'] = p['masks'][:, s]
        out['pred_stexts'] = p['caption'][:, s]
        out['pred_smaskembs'] = p['maskemb'][:, s]
        out['pred_pspatials'] = vp.pos_embeds.transpose(0, 1)
        out['pred_nspatials'] = vp.neg_embeds.transpose(0, 1)
    return out


def select_spatial_masks(outputs: Dict,
                         queries_per_prompt: int) -> Tuple[Tensor, Tensor]:
    """Best of the S spatial queries of every prompt.

    Scores each spatial query by ``mask_embedding . positive_vector`` of its
    own prompt (raw dot product, other prompts excluded) and keeps the
    highest.

    Returns:
        tuple: ``prev_mask`` [B, P, H/4, W/4] mask logits of the selected
        queries and their indices [B, P] into the P*S spatial queries.
    """
    emb = outputs['pred_smaskembs']  # [B, P*S, C]
    pvec = outputs['pred_pspatials']  # [B, P, C]
    num_prompts = pvec.shape[1]
    q_ids = torch.arange(
        num_prompts, device=emb.device).repeat_interleave(queries_per_prompt)
    scores = emb @ pvec.transpose(1, 2)  # [B, P*S, P]
    other = q_ids[:, None] != torch.arange(num_prompts,
                                           device=emb.device)[None]
    scores = scores.masked_fill(other[None], float('-inf'))
    index = scores.argmax(dim=1)  # [B, P]
    masks = outputs['pred_smasks']
    prev = torch.gather(
        masks, 1, index[..., None, None].expand(-1, -1, *masks.shape[-2:]))
    return prev, index


def grounding_similarity(v_emb: Tensor, t_emb: Tensor,
                         logit_scale: Tensor) -> Tensor:
    """Grounding scores ``clamp(exp(logit_scale), max=100) * cos``.

    Args:
        v_emb (Tensor): [Q, dim_proj] query embeddings (``pred_gtexts``).
        t_emb (Tensor): [T, dim_proj] phrase embeddings.
        logit_scale (Tensor): the language encoder's 0-d ``logit_scale``.

    Returns:
        Tensor: [Q, T] logits.
    """
    v = v_emb / (v_emb.norm(dim=-1, keepdim=True) + 1e-7)
    t = t_emb / (t_emb.norm(dim=-1, keepdim=True) + 1e-7)
    scale = logit_scale.exp().clamp(max=100)
    return scale * (v @ t.t())
