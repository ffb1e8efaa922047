"""The query sequence of one SEEM decoder pass.

SEEM-specific, not in mmdet/mmseg. From the prompts of a pass
(:class:`~.decoder_prompts.DecoderPrompts`) build what the decoder layers
run on: the visual sampler's tokens of the visual prompts
(:func:`visual_prompt_tokens`) and the queries in cross-attention order
(:func:`build_queries`): object queries ``query_feat``/``query_embed``,
spatial queries (copies of randomly drawn object queries, S per prompt),
memory prompts ``spatial_featured``/``spatial_embed`` and grounding queries
(copies of the object queries), with their
:class:`~..layers.attention_mask.QueryLayout`. ``dec`` is the
:class:`SEEMDecoder` whose parameters are used (official names).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch import Tensor

from mmseem.structures.tasks import Task
from ..layers.attention_mask import QueryLayout, cross_attn_order
from ..layers.visual_sampler import (SampledPromptTokens, check_prompt_masks,
                                     sample_visual_prompts)
from .decoder_prompts import DecoderPrompts, check_grounding, check_prev_mask
from .features import PreparedFeatures

__all__ = ['QueryState', 'visual_prompt_tokens', 'build_queries']


@dataclass
class QueryState:
    """The query sequence of one pass and what built it."""
    output: Tensor  # [L, B, C] cross-attention sequence
    query_pos: Tensor  # [L, B, C]
    layout: QueryLayout
    names: List[str]  # query groups in cross-attention order
    slices: Dict[str, slice]
    head_rows: slice  # rows that get prediction heads
    spatial_only: bool
    vp: Optional[SampledPromptTokens] = None
    prev_mask: Optional[Tensor] = None
    g_tok: Optional[Tensor] = None
    g_pos: Optional[Tensor] = None



def visual_prompt_tokens(dec, prompts: DecoderPrompts, task: Task,
                    prepared: PreparedFeatures, mask_features: Tensor,
                    generator) -> SampledPromptTokens:
    bs = mask_features.shape[0]
    if prompts.refimg_tokens is not None:
        return SampledPromptTokens.from_dict(prompts.refimg_tokens, bs)
    if prompts.spatial_pos_masks is None:
        raise ValueError(f"task '{task}' needs spatial_query_pos_mask "
                         '(or refimg_tokens) in the prompts')
    input_size = None
    if dec.mask_feature_stride is not None:
        input_size = tuple(s * dec.mask_feature_stride
                           for s in mask_features.shape[-2:])
    pos_masks, neg_masks = check_prompt_masks(
        prompts.spatial_pos_masks, prompts.spatial_neg_masks, bs,
        input_size)
    return sample_visual_prompts(pos_masks, neg_masks, mask_features,
                                 prepared.maps,
                                 list(dec.mask_sptial_embed),
                                 dec.pn_indicator.weight,
                                 dec.max_spatial_len, generator,
                                 prepared.projected)

def build_queries(dec, prompts: DecoderPrompts, vp, use_grounding: bool,
                  use_memory: bool, bs: int, device, generator) -> QueryState:
    """Object, spatial, memory and grounding queries in cross-attention
    order, with their layout (draws the spatial queries)."""
    spatial_only = prompts.spatial_only
    q_out, q_pos = {}, {}
    if not spatial_only:
        q_out['object'] = dec.query_feat.weight[:, None].repeat(1, bs, 1)
        q_pos['object'] = dec.query_embed.weight[:, None].repeat(
            1, bs, 1)
    num_prompts, prev_mask = 0, None
    if vp is not None:
        num_prompts = vp.num_prompts
        # spatial queries start as copies of randomly drawn object
        # queries (same draw with or without spatial_only); a given
        # spatial_query_index [B, P*S] picks them per image instead
        idx = prompts.spatial_query_index
        if idx is None:
            idx = dec.draw_spatial_query_index(num_prompts, generator)
        idx = idx.to(device).expand(bs, num_prompts * dec.sample_size)
        q_out['spatial'] = dec.query_feat.weight[idx].transpose(0, 1)
        q_pos['spatial'] = dec.query_embed.weight[idx].transpose(0, 1)
        if use_memory:
            prev_mask = check_prev_mask(prompts.prev_mask, bs,
                                        num_prompts)
            q_out['memories'] = dec.spatial_featured.weight[:, None] \
                .repeat(1, bs, 1)
            q_pos['memories'] = dec.spatial_embed.weight[:, None] \
                .repeat(1, bs, 1)
    g_tok = g_pos = g_pad = None
    if use_grounding:
        g_tok, g_pad = check_grounding(prompts, bs,
                                       dec.query_feat.weight.shape[-1])
        g_pos = g_tok.detach().clone()
        q_out['grounding'] = q_out['object'].clone()
        q_pos['grounding'] = q_pos['object'].clone()

    layout = QueryLayout(
        num_object=0 if spatial_only else dec.num_queries,
        num_grounding=dec.num_queries if use_grounding else 0,
        num_prompts=num_prompts,
        queries_per_prompt=dec.sample_size if vp is not None else 0,
        grounding_padding=g_pad,
        spatial_token_ids=vp.level_prompt_ids[0] if vp is not None
        else None,
        memory_ids=(torch.zeros(dec.spatial_featured.num_embeddings,
                                dtype=torch.long)
                    if use_memory else None))
    c_sl = cross_attn_order(layout)
    names = [k for k, s in c_sl.items() if s.stop > s.start]
    # rows that get prediction heads: with spatial_only the memories
    # (whose cross-attention masks come from prev_mask) are skipped
    head_rows = slice(0, c_sl['memories'].start) \
        if spatial_only and use_memory else slice(None)
    return QueryState(
        torch.cat([q_out[k] for k in names]),
        torch.cat([q_pos[k] for k in names]), layout, names, c_sl,
        head_rows, spatial_only, vp, prev_mask, g_tok, g_pos)
