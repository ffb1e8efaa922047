"""Transformer encoder of SEEM's ``transformer_encoder_fpn`` pixel decoder.

DETR-style encoder layers (:class:`TransformerEncoderLayer`), their stack
(:class:`TransformerEncoder`) and :class:`TransformerEncoderOnly`, which runs
the stack on a feature map ``[B, C, h, w]``; the FPN pixel decoder in
``transformer_encoder_fpn.py`` applies it to the res5 map. SEEM (via
X-Decoder / Mask2Former) adds these; attribute names equal the official ones
so checkpoint keys load unchanged.
"""
import copy
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

class TransformerEncoderLayer(nn.Module):
    """DETR encoder layer (self-attention + FFN, post- or pre-norm).

    Written here rather than mmdet's ``DetrTransformerEncoderLayer``, whose
    names (``self_attn.attn``, ``ffn.layers``, ``norms``) differ from the
    official ``self_attn``, ``linear1/2``, ``norm1/2``.
    Tokens are ``[L, B, C]`` (sequence first); ``pos`` is added to queries
    and keys only.
    """

    def __init__(self,
                 d_model: int,
                 nhead: int,
                 dim_feedforward: int = 2048,
                 dropout: float = 0.1,
                 normalize_before: bool = False) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.normalize_before = normalize_before

    def _ffn(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(F.relu(self.linear1(x))))

    def forward(self,
                src: Tensor,
                src_key_padding_mask: Optional[Tensor] = None,
                pos: Optional[Tensor] = None) -> Tensor:
        if self.normalize_before:
            x = self.norm1(src)
            qk = x if pos is None else x + pos
            src = src + self.dropout1(
                self.self_attn(
                    qk, qk, value=x,
                    key_padding_mask=src_key_padding_mask)[0])
            src = src + self.dropout2(self._ffn(self.norm2(src)))
            return src
        qk = src if pos is None else src + pos
        src = src + self.dropout1(
            self.self_attn(
                qk, qk, value=src, key_padding_mask=src_key_padding_mask)[0])
        src = self.norm1(src)
        src = src + self.dropout2(self._ffn(src))
        return self.norm2(src)


class TransformerEncoder(nn.Module):
    """A stack of ``layers`` and a final ``norm`` (pre-norm only)."""

    def __init__(self, layer: nn.Module, num_layers: int,
                 norm: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [copy.deepcopy(layer) for _ in range(num_layers)])
        self.norm = norm

    def forward(self, src, src_key_padding_mask=None, pos=None):
        for layer in self.layers:
            src = layer(src, src_key_padding_mask=src_key_padding_mask,
                        pos=pos)
        return src if self.norm is None else self.norm(src)


class TransformerEncoderOnly(nn.Module):
    """Transformer encoder on a feature map ``[B, C, h, w]`` -> same shape.

    Parameters are Xavier-uniform initialised (official
    ``TransformerEncoderOnly``).
    """

    def __init__(self,
                 d_model: int = 512,
                 nhead: int = 8,
                 num_encoder_layers: int = 6,
                 dim_feedforward: int = 2048,
                 dropout: float = 0.1,
                 normalize_before: bool = False) -> None:
        super().__init__()
        layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward,
                                        dropout, normalize_before)
        norm = nn.LayerNorm(d_model) if normalize_before else None
        self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        self.d_model = d_model
        self.nhead = nhead
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src: Tensor, mask: Optional[Tensor],
                pos_embed: Tensor) -> Tensor:
        B, C, h, w = src.shape
        src = src.flatten(2).permute(2, 0, 1)
        pos_embed = pos_embed.flatten(2).permute(2, 0, 1)
        if mask is not None:
            mask = mask.flatten(1)
        memory = self.encoder(src, src_key_padding_mask=mask, pos=pos_embed)
        return memory.permute(1, 2, 0).reshape(B, C, h, w)
