"""Masked-attention decoder layers of the SEEM decoder.

The SEEM decoder (like Mask2Former / X-Decoder) alternates three sub-layers:
masked *cross*-attention from queries to one level of image features,
*self*-attention among queries and prompt tokens, and a feed-forward network.
All three are post-norm (``x = norm(x + f(x))``) by default, with an optional
pre-norm mode (``normalize_before=True``).

Why not mmcv's ``MultiheadAttention`` / ``FFN``: the released SEEM checkpoints
store these weights as ``self_attn.in_proj_weight``, ``multihead_attn.*``,
``linear1``/``linear2`` and ``norm``; mmcv nests them as ``attn.*`` and
``layers.0.0`` etc., so the official attribute names are kept here on top of
``torch.nn.MultiheadAttention`` (whose parameter names match the checkpoint).

Sequences are sequence-first: ``[L, B, C]``. Boolean masks use PyTorch's
convention: ``True`` = this key may NOT be attended.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['SelfAttentionLayer', 'CrossAttentionLayer', 'FFNLayer', 'MLP']


def _with_pos(x: Tensor, pos: Optional[Tensor]) -> Tensor:
    return x if pos is None else x + pos


def _reset_xavier(module: nn.Module) -> None:
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)


class SelfAttentionLayer(nn.Module):
    """Self-attention among queries and prompt tokens (post-norm).

    SEEM's self-attention mask may block *every* key of some rows (padded
    grounding tokens). SEEM's attention then uses zero attention weights for
    such rows (its softmax is followed by ``nan_to_num``), so their attention
    output is just the output-projection bias. This layer reproduces that on
    top of ``nn.MultiheadAttention``: fully blocked rows are unblocked for the
    kernel call and their result is replaced by ``out_proj.bias``.

    Args:
        d_model (int): Embedding size C.
        nhead (int): Number of heads.
        dropout (float): Attention/residual dropout. Defaults to 0.
        normalize_before (bool): Pre-norm instead of post-norm.
    """

    def __init__(self,
                 d_model: int,
                 nhead: int,
                 dropout: float = 0.0,
                 normalize_before: bool = False):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.normalize_before = normalize_before
        _reset_xavier(self)

    def _attend(self, x: Tensor, query_pos: Optional[Tensor],
                tgt_mask: Optional[Tensor]) -> Tensor:
        q = k = _with_pos(x, query_pos)
        blocked_rows = None
        if tgt_mask is not None and tgt_mask.dtype == torch.bool:
            blocked_rows = tgt_mask.all(dim=-1)  # [B*heads, L]
            if blocked_rows.any():
                tgt_mask = tgt_mask.masked_fill(blocked_rows[..., None], False)
            else:
                blocked_rows = None
        out = self.self_attn(q, k, value=x, attn_mask=tgt_mask,
                             need_weights=False)[0]
        if blocked_rows is not None:
            # a row is "empty" for the output only if blocked for all heads;
            # rows blocked for some heads only never occur in SEEM masks.
            num_heads = self.self_attn.num_heads
            rows = blocked_rows.view(-1, num_heads, blocked_rows.shape[-1])
            rows = rows.all(dim=1).t()  # [L, B]
            bias = self.self_attn.out_proj.bias
            fill = bias if bias is not None else out.new_zeros(out.shape[-1])
            out = torch.where(rows[..., None], fill.expand_as(out), out)
        return out

    def forward(self,
                tgt: Tensor,
                tgt_mask: Optional[Tensor] = None,
                query_pos: Optional[Tensor] = None) -> Tensor:
        """tgt: [L, B, C]; tgt_mask: [B*heads, L, L] bool; -> [L, B, C]."""
        if self.normalize_before:
            x = self.norm(tgt)
            return tgt + self.dropout(self._attend(x, query_pos, tgt_mask))
        tgt = tgt + self.dropout(self._attend(tgt, query_pos, tgt_mask))
        return self.norm(tgt)


class CrossAttentionLayer(nn.Module):
    """Masked cross-attention from queries to one level of image features.

    The keys ``(memory + pos) W_k`` and values ``memory W_v`` depend on the
    image only: :meth:`project_memory` computes them once per image so that
    every interactive round passes them as ``memory_kv`` and skips the two
    ``[HW, C] x [C, C]`` projections. That path repeats the operations of
    ``nn.MultiheadAttention`` (``F.multi_head_attention_forward`` without
    weights: the same linear layers on the same shapes, boolean mask turned
    into ``-inf``, ``scaled_dot_product_attention``, output projection), so
    its result equals the module's.

    Args:
        d_model (int): Embedding size C.
        nhead (int): Number of heads.
        dropout (float): Attention/residual dropout. Defaults to 0.
        normalize_before (bool): Pre-norm instead of post-norm.
    """

    def __init__(self,
                 d_model: int,
                 nhead: int,
                 dropout: float = 0.0,
                 normalize_before: bool = False):
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(
            d_model, nhead, dropout=dropout)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.normalize_before = normalize_before
        _reset_xavier(self)

    def _in_proj(self, i: int):
        attn = self.multihead_attn
        w = attn.in_proj_weight.chunk(3)[i]
        b = None if attn.in_proj_bias is None else attn.in_proj_bias.chunk(
            3)[i]
        return w, b

    def project_memory(self,
                       memory: Tensor,
                       pos: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Keys and values of the image features (prompt-independent).

        Args:
            memory (Tensor): [HW, B, C] image features of the level.
            pos (Tensor, optional): [HW, B, C] position embeddings.

        Returns:
            tuple: keys ``(memory + pos) W_k + b_k`` and values
            ``memory W_v + b_v``, both [HW, B, C]; pass them as
            ``memory_kv``. They follow the current weights: recompute them
            after the weights change.
        """
        k = F.linear(_with_pos(memory, pos), *self._in_proj(1))
        v = F.linear(memory, *self._in_proj(2))
        return k, v

    def _attend_kv(self, query: Tensor, kv: Tuple[Tensor, Tensor],
                   mask: Optional[Tensor]) -> Tensor:
        """Multi-head attention with projected keys / values ``kv``."""
        attn = self.multihead_attn
        k, v = kv
        tgt_len, bsz, embed_dim = query.shape
        src_len = k.shape[0]
        if k.shape[1] != bsz or v.shape != k.shape:
            raise ValueError(
                f'memory_kv are {tuple(k.shape)} / {tuple(v.shape)} but the '
                f'queries have batch {bsz}: project the same image batch')
        heads = attn.num_heads
        head_dim = embed_dim // heads
        q = F.linear(query, *self._in_proj(0))
        q = q.view(tgt_len, bsz * heads, head_dim).transpose(0, 1)
        k = k.view(src_len, bsz * heads, head_dim).transpose(0, 1)
        v = v.view(src_len, bsz * heads, head_dim).transpose(0, 1)
        if mask is not None:
            if mask.dtype == torch.bool:
                mask = torch.zeros_like(
                    mask, dtype=query.dtype).masked_fill_(mask, float('-inf'))
            mask = mask.view(bsz, heads, -1, src_len)
        out = F.scaled_dot_product_attention(
            q.view(bsz, heads, tgt_len, head_dim),
            k.view(bsz, heads, src_len, head_dim),
            v.view(bsz, heads, src_len, head_dim), mask,
            attn.dropout if self.training else 0.0)
        out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
        out = F.linear(out, attn.out_proj.weight, attn.out_proj.bias)
        return out.view(tgt_len, bsz, out.shape[1])

    def forward(self,
                tgt: Tensor,
                memory: Optional[Tensor],
                memory_mask: Optional[Tensor] = None,
                pos: Optional[Tensor] = None,
                query_pos: Optional[Tensor] = None,
                memory_kv: Optional[Tuple[Tensor, Tensor]] = None) -> Tensor:
        """tgt: [L, B, C]; memory: [HW, B, C]; memory_mask: [B*heads, L, HW]
        bool (the caller guarantees no fully blocked row); memory_kv: the
        :meth:`project_memory` of (memory, pos), used instead of them when
        given; -> [L, B, C]."""
        x = self.norm(tgt) if self.normalize_before else tgt
        if memory_kv is not None:
            out = self._attend_kv(_with_pos(x, query_pos), memory_kv,
                                  memory_mask)
        else:
            out = self.multihead_attn(
                query=_with_pos(x, query_pos),
                key=_with_pos(memory, pos),
                value=memory,
                attn_mask=memory_mask,
                need_weights=False)[0]
        tgt = tgt + self.dropout(out)
        return tgt if self.normalize_before else self.norm(tgt)


class FFNLayer(nn.Module):
    """Feed-forward network ``linear2(relu(linear1(x)))`` with residual.

    Args:
        d_model (int): Embedding size C.
        dim_feedforward (int): Hidden size.
        dropout (float): Dropout. Defaults to 0.
        normalize_before (bool): Pre-norm instead of post-norm.
    """

    def __init__(self,
                 d_model: int,
                 dim_feedforward: int = 2048,
                 dropout: float = 0.0,
                 normalize_before: bool = False):
        super().__init__()
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.normalize_before = normalize_before
        _reset_xavier(self)

    def forward(self, tgt: Tensor) -> Tensor:
        x = self.norm(tgt) if self.normalize_before else tgt
        x = self.linear2(self.dropout(F.relu(self.linear1(x))))
        tgt = tgt + self.dropout(x)
        return tgt if self.normalize_before else self.norm(tgt)


class MLP(nn.Module):
    """``num_layers`` linear layers with ReLU in between (``layers.i``).

    Used for the mask embedding head (``mask_embed``).
    """

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int,
                 num_layers: int):
        super().__init__()
        self.num_layers = num_layers
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(
            nn.Linear(i, o) for i, o in zip(dims_in, dims_out))

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < self.num_layers - 1:
                x = F.relu(x)
        return x
