"""Prefix-shared EOT encoding of many prompts with a causal text transformer.

mmseem speed-up, not in SEEM/mmdet: SEEM embeds a vocabulary by encoding
every ``template x class`` prompt (81 x 134 for COCO) through the whole
77-token text transformer. With causal attention the hidden state of token
``t`` depends only on tokens ``<= t``, so

- all prompts built from one template share the hidden states (and the
  attention keys/values) of their common token prefix (``<|startoftext|> a
  photo of a``): they are computed once per template (the *prefix pass*);
- the tokens after the end-of-text (EOT) token never influence the EOT state,
  the only one the class embedding pools: they are never computed.

The *suffix pass* then runs only the tokens from the end of the shared
prefix to the EOT of each prompt, attending to the cached prefix keys and
values plus their own causal past. Prompts are bucketed by suffix length
so no padding is computed either. Same math as the plain pass (float noise
only: the matrix products are blocked differently).

Shapes: ``input_ids`` [N, L]; prefix keys/values per layer [G, H, P, d]
(G groups, P the longest shared prefix, H heads, d = C / H); the result is
the ``ln_final`` hidden state at each prompt's EOT, [N, C].
"""
import time
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'shared_prefix_lengths', 'encode_eot_prefix_shared', 'group_by_template'
]


def shared_prefix_lengths(input_ids: Tensor, groups: Tensor) -> Tensor:
    """Per group, the number of leading tokens common to all its prompts,
    capped so that every prompt keeps at least its EOT token in the suffix.

    Args:
        input_ids (Tensor): [N, L] token ids (EOT = the largest id, first
            occurrence).
        groups (Tensor): [N] group index in ``0..G-1`` (e.g. the template).

    Returns:
        Tensor: [G] prefix lengths P_g (>= 0).
    """
    eot = input_ids.argmax(dim=-1)
    num_groups = int(groups.max()) + 1
    lengths = torch.zeros(num_groups, dtype=torch.long)
    for g in range(num_groups):
        idx = (groups == g).nonzero().flatten()
        if len(idx) == 0:
            continue
        ids = input_ids[idx]
        same = (ids == ids[:1]).all(dim=0)  # [L]
        diff = (~same).nonzero()
        lcp = int(diff[0]) if len(diff) else ids.shape[1]
        lengths[g] = min(lcp, int(eot[idx].min()))
    return lengths


def _split_heads(x: Tensor, heads: int) -> Tensor:
    """[B, S, C] -> [B, H, S, d]."""
    B, S, C = x.shape
    return x.view(B, S, heads, C // heads).transpose(1, 2)


def _block(block, x: Tensor, mask: Tensor, past_k: Optional[Tensor],
           past_v: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    """One ``ResidualAttentionBlock`` on [B, S, C] tokens that may attend to
    cached keys/values ``past_*`` [B, H, P, d] (``mask``: True = may attend,
    [B or 1, 1, S, P + S]). Returns the new tokens and this block's own
    keys/values [B, H, S, d]."""
    attn = block.attn
    heads = attn.num_heads
    y = block.ln_1(x)
    q, k, v = F.linear(y, attn.in_proj_weight,
                       attn.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (_split_heads(t, heads) for t in (q, k, v))
    keys, values = k, v
    if past_k is not None:
        keys = torch.cat([past_k, k], dim=2)
        values = torch.cat([past_v, v], dim=2)
    out = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
    B, _, S, _ = out.shape
    out = out.transpose(1, 2).reshape(B, S, -1)
    x = x + attn.out_proj(out)
    x = x + block.mlp(block.ln_2(x))
    return x, k, v


def _embed(encoder, ids: Tensor, positions: Tensor) -> Tensor:
    x = encoder.token_embedding(ids)
    return x + encoder.positional_embedding[positions].to(x.dtype)


def _prefix_pass(encoder, prefix_ids: Tensor,
                 prefix_len: Tensor) -> List[Tuple[Tensor, Tensor]]:
    """Keys/values of every layer for the G prefixes [G, P_max] (entries
    past a group's own length are computed but masked later)."""
    G, P = prefix_ids.shape
    if P == 0:
        return [(None, None)] * len(encoder.resblocks)
    x = _embed(encoder, prefix_ids, torch.arange(P, device=prefix_ids.device))
    causal = torch.ones(P, P, dtype=torch.bool,
                        device=x.device).tril_()[None, None]
    cache = []
    for block in encoder.resblocks:
        x, k, v = _block(block, x, causal, None, None)
        cache.append((k, v))
    return cache


def _chunks(n: int, size: int) -> Iterator[Tuple[int, int]]:
    for i in range(0, n, size):
        yield i, min(i + size, n)


@torch.no_grad()
def encode_eot_prefix_shared(encoder,
                             input_ids: Tensor,
                             groups: Tensor,
                             max_tokens: int = 4096,
                             progress_after: Optional[float] = 5.0
                             ) -> Tensor:
    """``ln_final`` hidden states at the EOT of every prompt, [N, C], equal
    (float noise) to ``encoder(input_ids)[range(N), eot]`` for a causal
    ``CLIPTextTransformer``.

    Args:
        encoder: an autoregressive ``CLIPTextTransformer``.
        input_ids (Tensor): [N, L] token ids.
        groups (Tensor): [N] group of each prompt (prompts of one group
            should share a token prefix, e.g. one template each; any grouping
            is exact, a good one is faster).
        max_tokens (int): Suffix tokens per forward chunk (memory bound).
        progress_after (float, optional): Show a progress bar on stderr once
            the encoding has run this many seconds; None: never.
    """
    if not getattr(encoder, 'autoregressive', False):
        raise ValueError('prefix sharing needs a causal (autoregressive) '
                         'text transformer; use the plain forward')
    device = input_ids.device
    groups = groups.to(device)
    eot = input_ids.argmax(dim=-1)
    prefix_len = shared_prefix_lengths(input_ids.cpu(), groups.cpu()).to(
        device)
    p_max = int(prefix_len.max())
    first = torch.stack([(groups == g).nonzero()[0, 0]
                         for g in range(len(prefix_len))])
    cache = _prefix_pass(encoder, input_ids[first, :p_max], prefix_len)

    p_text = prefix_len[groups]  # [N]
    suffix_len = eot - p_text + 1  # tokens P..EOT, >= 1
    out = None
    order: List[Tuple[Tensor, int]] = []
    for s in sorted(set(suffix_len.tolist())):
        idx = (suffix_len == s).nonzero().flatten()
        per = max(1, max_tokens // s)
        order += [(idx[a:b], s) for a, b in _chunks(len(idx), per)]
    bar = _DelayedProgress(len(order), progress_after)
    for idx, s in order:
        hidden = _suffix_pass(encoder, input_ids[idx], p_text[idx],
                              groups[idx], s, p_max, cache)
        if out is None:
            out = hidden.new_empty(input_ids.shape[0], hidden.shape[-1])
        out[idx] = hidden
        bar.update()
    bar.close()
    return out


def _suffix_pass(encoder, ids: Tensor, p_text: Tensor, groups: Tensor,
                 s: int, p_max: int, cache) -> Tensor:
    """EOT states of n prompts whose suffix (prefix end .. EOT) has exactly
    ``s`` tokens, attending to their group's cached prefix."""
    n = ids.shape[0]
    offs = torch.arange(s, device=ids.device)
    pos = p_text[:, None] + offs[None]  # [n, s] absolute positions
    x = _embed(encoder, ids.gather(1, pos), pos)
    # keys: p_max cached prefix slots (valid below the group's length),
    # then the suffix itself, causally
    key_pos = torch.arange(p_max, device=ids.device)
    prefix_ok = (key_pos[None] < p_text[:, None])[:, None, :].expand(
        n, s, p_max)
    causal = torch.ones(s, s, dtype=torch.bool, device=ids.device).tril_()
    mask = torch.cat([prefix_ok, causal[None].expand(n, s, s)],
                     dim=-1)[:, None]
    for block, (pk, pv) in zip(encoder.resblocks, cache):
        if pk is not None:
            pk, pv = pk[groups], pv[groups]
        x, _, _ = _block(block, x, mask, pk, pv)
    return encoder.ln_final(x[:, -1])


class _DelayedProgress:
    """An mmengine ``ProgressBar`` on stderr that appears only once the work
    has run ``after`` seconds (quick encodings and tests print nothing)."""

    def __init__(self, total: int, after: Optional[float]):
        self.total, self.after = total, after
        self.done = 0
        self.start = time.perf_counter()
        self.bar = None

    def update(self) -> None:
        self.done += 1
        if self.bar is None and self.after is not None and \
                self.done < self.total and \
                time.perf_counter() - self.start > self.after:
            import sys

            from mmengine.utils import ProgressBar
            print('encoding the vocabulary (prompt templates x classes)',
                  file=sys.stderr)
            self.bar = ProgressBar(self.total - self.done, file=sys.stderr)
            return
        if self.bar is not None:
            self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.file.write('\n')
            self.bar.file.flush()


def group_by_template(num_names: int, num_templates: int,
                      device=None) -> Tensor:
    """Group index (the template) of each prompt in class-major order
    ``[name0 x t0..tT-1, name1 x ...]``, [num_names * num_templates]."""
    return torch.arange(num_templates, device=device).repeat(num_names)
