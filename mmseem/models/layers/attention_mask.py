"""Self-attention mask of the SEEM decoder.

SEEM-specific, not in mmdet/mmseg: SEEM puts several kinds of *queries*
(learnable latents that predict masks) and *tokens* (prompt embeddings that
only condition the queries) into one self-attention sequence, and controls who
may see whom with a boolean mask (``True`` = blocked). This file builds that
mask from an explicit layout instead of SEEM's generic ``AttentionDataStruct``
(config ``ATTENTION_ARCH``: ``SELF_ATTENTION``, ``MASKING``), with the same
resulting mask.

Self-attention sequence layout, in this order (absent parts have length 0)::

    [ object queries      Qo      ]  generic segmentation queries
    [ grounding queries   Qg      ]  a copy of the object queries
    [ spatial queries     P * S   ]  S queries per visual prompt, prompt-major
    [ grounding tokens    T       ]  text tokens of the referring phrase(s)
    [ spatial tokens      N       ]  point features sampled in the prompts
    [ spatial memories    M       ]  memory prompts (interactive rounds >= 2)

Visibility (row = attending element, column = attended element):

* object queries see all object queries and nothing else; nobody else sees
  the object queries;
* grounding queries see all grounding queries and the non-padded grounding
  tokens; non-padded grounding tokens see the same set; a padded grounding
  token sees nothing (its attention output is the projection bias);
* the spatial queries of prompt p see the spatial queries, spatial tokens and
  memories of prompt p only;
* a spatial token sees the spatial tokens of its own prompt (padded tokens,
  prompt id -1, see only padded tokens);
* a memory sees the memories assigned to the same prompt;
* grounding and spatial parts never see each other.

The cross-attention sequence is ``[object | grounding | spatial queries |
memories]`` (tokens do not cross-attend); see :func:`cross_attn_order`.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Optional

import torch
from torch import Tensor

__all__ = [
    'QueryLayout', 'self_attn_order', 'cross_attn_order',
    'build_self_attn_mask'
]


@dataclass
class QueryLayout:
    """Sizes and per-element prompt assignment of the decoder sequence.

    Args:
        num_object (int): Number of object queries Qo.
        num_grounding (int): Number of grounding queries Qg (0 if none).
        num_prompts (int): Number of visual prompts P (0 if none).
        queries_per_prompt (int): Spatial queries per prompt S.
        grounding_padding (Tensor, optional): [B, T] bool, True = padded
            grounding token. ``None`` means no grounding tokens.
        spatial_token_ids (Tensor, optional): [B, N] long prompt index of
            every spatial token, -1 for padding. ``None`` = no spatial tokens.
        memory_ids (Tensor, optional): [M] long prompt index of every memory
            prompt. ``None`` = no memories.
    """
    num_object: int
    num_grounding: int = 0
    num_prompts: int = 0
    queries_per_prompt: int = 0
    grounding_padding: Optional[Tensor] = None
    spatial_token_ids: Optional[Tensor] = None
    memory_ids: Optional[Tensor] = None

    @property
    def num_spatial(self) -> int:
        return self.num_prompts * self.queries_per_prompt

    @property
    def num_grounding_tokens(self) -> int:
        p = self.grounding_padding
        return 0 if p is None else p.shape[1]

    @property
    def num_spatial_tokens(self) -> int:
        ids = self.spatial_token_ids
        return 0 if ids is None else ids.shape[1]

    @property
    def num_memories(self) -> int:
        return 0 if self.memory_ids is None else self.memory_ids.numel()

    def spatial_query_ids(self, device=None) -> Tensor:
        """[P*S] prompt index of every spatial query (prompt-major)."""
        return torch.arange(
            self.num_prompts, device=device).repeat_interleave(
                self.queries_per_prompt)


def _slices(parts) -> Dict[str, slice]:
    out, start = OrderedDict(), 0
    for name, length in parts:
        out[name] = slice(start, start + length)
        start = start + length  # not in place: sizes may be traced tensors
    return out


def self_attn_order(layout: QueryLayout) -> Dict[str, slice]:
    """Slices of each part in the self-attention sequence (module doc)."""
    return _slices([
        ('object', layout.num_object),
        ('grounding', layout.num_grounding),
        ('spatial', layout.num_spatial),
        ('grounding_tokens', layout.num_grounding_tokens),
        ('spatial_tokens', layout.num_spatial_tokens),
        ('memories', layout.num_memories),
    ])


def cross_attn_order(layout: QueryLayout) -> Dict[str, slice]:
    """Slices of each part in the cross-attention sequence."""
    return _slices([
        ('object', layout.num_object),
        ('grounding', layout.num_grounding),
        ('spatial', layout.num_spatial),
        ('memories', layout.num_memories),
    ])


def build_self_attn_mask(layout: QueryLayout,
                         batch_size: int,
                         num_heads: int,
                         device=None) -> Tensor:
    """Build SEEM's self-attention mask.

    Args:
        layout (QueryLayout): Sequence layout.
        batch_size (int): B.
        num_heads (int): Attention heads; the mask is repeated per head.
        device: Device of the mask.

    Returns:
        Tensor: [B * num_heads, L, L] bool, ``True`` = blocked, batch-major
        (as ``nn.MultiheadAttention`` expects).
    """
    sl = self_attn_order(layout)
    length = sum(s.stop - s.start for s in sl.values())
    mask = torch.ones((batch_size, length, length),
                      dtype=torch.bool,
                      device=device)

    o = sl['object']
    if layout.num_object:  # (an empty slice assignment breaks ONNX export)
        mask[:, o, o] = False

    if layout.num_grounding and layout.num_grounding_tokens:
        gq, gt = sl['grounding'], sl['grounding_tokens']
        pad = layout.grounding_padding.to(device=device, dtype=torch.bool)
        if pad.shape[0] != batch_size:
            raise ValueError(
                f'grounding padding has batch {pad.shape[0]}, expected '
                f'{batch_size}')
        keep = ~pad  # [B, T]
        mask[:, gq, gq] = False
        # grounding queries see the real tokens only
        mask[:, gq, gt] = ~keep[:, None, :]
        # real tokens see the grounding queries and the real tokens
        mask[:, gt, gq] = ~keep[:, :, None]
        mask[:, gt, gt] = ~(keep[:, :, None] & keep[:, None, :])
    elif layout.num_grounding:
        gq = sl['grounding']
        mask[:, gq, gq] = False

    if layout.num_spatial:
        if layout.spatial_token_ids is None:
            raise ValueError('spatial queries need spatial tokens '
                             '(spatial_token_ids is None)')
        sq, st = sl['spatial'], sl['spatial_tokens']
        q_ids = layout.spatial_query_ids(device)  # [P*S]
        t_ids = layout.spatial_token_ids.to(device)  # [B, N]
        mask[:, sq, sq] = (q_ids[:, None] != q_ids[None, :])[None]
        mask[:, sq, st] = q_ids[None, :, None] != t_ids[:, None, :]
        mask[:, st, st] = t_ids[:, :, None] != t_ids[:, None, :]
        if layout.num_memories:
            m = sl['memories']
            m_ids = layout.memory_ids.to(device)  # [M]
            mask[:, sq, m] = (q_ids[:, None] != m_ids[None, :])[None]
            mask[:, m, m] = (m_ids[:, None] != m_ids[None, :])[None]
    elif layout.num_memories:
        raise ValueError('memory prompts need spatial queries')

    return mask.repeat_interleave(num_heads, dim=0)
