"""Memory prompts of the SEEM decoder (multi-round interaction).

SEEM-specific, not in mmdet/mmseg. SEEM keeps M (=32) learnable memory
prompts (content ``spatial_featured``, position ``spatial_embed``; both
``nn.Embedding(M, C)`` living on the decoder so checkpoint keys stay
``predictor.spatial_featured.weight`` / ``predictor.spatial_embed.weight``).
From the second interaction round on (``prev_mask`` given), in every decoder
layer:

1. each memory is tied to one visual prompt, drawn uniformly at random with
   replacement (sorted prompt ids, fresh draw per layer);
2. in masked cross-attention a memory only attends to the image positions
   inside its prompt's previous predicted mask (``sigmoid(logit) >= 0.5``
   after bilinear resizing to the level's size) -- so the memory carries the
   previous round's segment;
3. in self-attention, the spatial queries of prompt p see the memories of
   prompt p (see :mod:`.attention_mask`).

As for every query, a cross-attention row that would block every position is
fully unblocked afterwards (done by the decoder on the whole mask).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['assign_memories', 'prev_mask_to_attn_mask',
           'memory_cross_attn_mask']


def assign_memories(num_prompts: int,
                    num_memories: int,
                    generator: Optional[torch.Generator] = None,
                    device=None) -> Tensor:
    """Tie every memory prompt to a visual prompt.

    Returns:
        Tensor: [num_memories] long, sorted prompt ids in ``[0, num_prompts)``.
    """
    if num_prompts < 1:
        raise ValueError('memory prompts need at least one visual prompt')
    gen_device = generator.device if generator is not None else 'cpu'
    probs = torch.full((num_prompts, ), 1.0 / num_prompts, device=gen_device)
    ids = torch.multinomial(
        probs, num_memories, replacement=True, generator=generator)
    return ids.sort()[0].to(device)


def prev_mask_to_attn_mask(prev_mask: Tensor, size: Tuple[int, int],
                           num_heads: int) -> Tensor:
    """Previous-round mask logits -> cross-attention block mask.

    Args:
        prev_mask (Tensor): [B, P, h, w] mask logits (float) or bool masks.
        size (tuple): (H_l, W_l) of the attended feature level.
        num_heads (int): Attention heads.

    Returns:
        Tensor: [B * num_heads, P, H_l * W_l] bool, ``True`` = outside the
        previous mask (blocked).
    """
    if prev_mask.dtype == torch.bool:
        # bool masks: map to logits +-1 so that the 0.5 threshold on the
        # sigmoid of the resized map matches a 0.5 threshold on the mask.
        prev_mask = prev_mask.float() * 2 - 1
    resized = F.interpolate(
        prev_mask, size=tuple(size), mode='bilinear', align_corners=False)
    blocked = resized.sigmoid().flatten(2) < 0.5  # [B, P, HW]
    return blocked.repeat_interleave(num_heads, dim=0).detach()


def memory_cross_attn_mask(prev_mask: Tensor, memory_ids: Tensor,
                           size: Tuple[int, int], num_heads: int) -> Tensor:
    """Cross-attention mask rows of the memory prompts.

    Returns:
        Tensor: [B * num_heads, M, H_l * W_l] bool; row m is the blocked
        region of prompt ``memory_ids[m]``'s previous mask.
    """
    per_prompt = prev_mask_to_attn_mask(prev_mask, size, num_heads)
    return per_prompt[:, memory_ids.to(per_prompt.device)]
