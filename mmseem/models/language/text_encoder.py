"""CLIP-style text transformer of SEEM's language encoder.

A GPT-2/CLIP text tower: token + learned positional embedding, pre-norm
residual attention blocks with QuickGELU MLPs and a causal (autoregressive)
attention mask, and a final LayerNorm. Attribute names follow SEEM
(``token_embedding``, ``positional_embedding``, ``resblocks.i.{attn, ln_1,
mlp.c_fc, mlp.c_proj, ln_2}``, ``ln_final``) so official checkpoints load
unchanged; this is why ``torch.nn.MultiheadAttention`` is used directly
(its ``in_proj_weight``/``out_proj`` names match) instead of mmcv's wrapper.
"""
from collections import OrderedDict
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn

from mmseem.registry import MODELS


class QuickGELU(nn.Module):
    """CLIP's sigmoid approximation of GELU: ``x * sigmoid(1.702 x)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block:
    ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``, on [L, N, C] tokens.

    LayerNorms use eps=1e-12 as SEEM's TF-style LayerNorm (same parameters
    ``weight``/``bias``; under autocast ``layer_norm`` runs in fp32 like
    SEEM's explicit upcast).
    """

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width, eps=1e-12)
        self.mlp = nn.Sequential(
            OrderedDict([('c_fc', nn.Linear(width, width * 4)),
                         ('gelu', QuickGELU()),
                         ('c_proj', nn.Linear(width * 4, width))]))
        self.ln_2 = nn.LayerNorm(width, eps=1e-12)

    def forward(self,
                x: Tensor,
                attn_mask: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        y = self.ln_1(x)
        y = self.attn(
            y,
            y,
            y,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False)[0]
        x = x + y
        return x + self.mlp(self.ln_2(x))


@MODELS.register_module()
class CLIPTextTransformer(BaseModule):
    """Text encoder of SEEM's language encoder (SEEM ``Transformer``).

    Config in SEEM v1 (focal-T): context 77, vocab 49408, width 512,
    12 layers, 8 heads, autoregressive. Stochastic depth is not
    implemented: SEEM builds this encoder with drop path 0.

    The causal mask is a non-persistent buffer ``attn_mask`` (SEEM keeps it
    as a plain attribute), so it follows ``.to(device)`` but is never in the
    state dict, exactly as in official checkpoints.

    Args:
        context_length (int): Maximum sequence length L. Defaults to 77.
        vocab_size (int): Token vocabulary size. Defaults to 49408 (CLIP).
        width (int): Channels C. Defaults to 512.
        layers (int): Number of residual attention blocks. Defaults to 12.
        heads (int): Attention heads. Defaults to 8.
        autoregressive (bool): Causal attention (CLIP/SEEM) if True; else
            bidirectional attention that ignores padding via the attention
            mask. Defaults to True.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 context_length: int = 77,
                 vocab_size: int = 49408,
                 width: int = 512,
                 layers: int = 12,
                 heads: int = 8,
                 autoregressive: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if width % heads != 0:
            raise ValueError(f'width ({width}) must be divisible by heads '
                             f'({heads}).')
        self.context_length = context_length
        self.width = width
        self.layers = layers
        self.autoregressive = autoregressive
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(
            torch.empty(context_length, width))
        self.resblocks = nn.ModuleList(
            [ResidualAttentionBlock(width, heads) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width, eps=1e-12)
        causal = torch.full((context_length, context_length),
                            float('-inf')).triu_(1)
        self.register_buffer('attn_mask', causal, persistent=False)
        self._init_parameters()

    @property
    def dim_out(self) -> int:
        return self.width

    def _init_parameters(self) -> None:
        """SEEM's init: truncated normal (std 0.02) for embeddings and
        linear weights, zero linear biases."""
        trunc_normal_(self.positional_embedding, std=.02)
        trunc_normal_(self.token_embedding.weight, std=.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        if self.init_cfg is None:
            self._init_parameters()
        else:
            super().init_weights()

    def forward(self,
                input_ids: Tensor,
                attention_mask: Optional[Tensor] = None) -> Tensor:
        """Encode token ids.

        Args:
            input_ids (Tensor): [N, L] token ids, L <= context_length.
            attention_mask (Tensor, optional): [N, L], 1 for real tokens and
                0 for padding; only used when ``autoregressive=False``.

        Returns:
            Tensor: Last hidden state after ``ln_final``, [N, L, C].
        """
        if input_ids.dim() != 2:
            raise ValueError('input_ids must be [N, L] token ids, got shape '
                             f'{tuple(input_ids.shape)}.')
        length = input_ids.shape[1]
        if length > self.context_length:
            raise ValueError(
                f'Sequence length {length} exceeds the context length '
                f'{self.context_length}: tokenise with truncation to '
                f'max_length={self.context_length}.')
        key_padding_mask = None
        if not self.autoregressive and attention_mask is not None:
            key_padding_mask = attention_mask == 0
        x = self.token_embedding(input_ids)
        x = x + self.positional_embedding[:length].to(x.dtype)
        attn_mask = None
        if self.autoregressive:
            attn_mask = self.attn_mask[:length, :length].to(x.dtype)
        x = x.transpose(0, 1)  # [N, L, C] -> [L, N, C]
        for block in self.resblocks:
            x = block(x, attn_mask, key_padding_mask)
        x = x.transpose(0, 1)
        return self.ln_final(x)
