"""FocalNet building blocks: patch embedding, focal modulation, blocks, stages.

The layers of :class:`~mmseem.models.backbones.FocalNet` (focal modulation
networks, Yang et al., NeurIPS 2022, as used by SEEM / X-Decoder; not in
mmdet/mmseg): :class:`Mlp`, :class:`FocalModulation`,
:class:`FocalModulationBlock` (both official variants, ``'focal_dw'`` and
``'focal'``; see ``focalnet.py``), :class:`PatchEmbed` and
:class:`BasicLayer` (one stage). Attribute names equal the official ones, so
checkpoint keys are unchanged.
"""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint
from mmcv.cnn.bricks import DropPath
from torch import Tensor

class Mlp(nn.Module):
    """Two-layer MLP ``fc2(drop(GELU(fc1(x))))`` on ``[..., C]`` tokens.

    Written here (not mmcv's FFN) to keep the official names ``fc1``/``fc2``.
    """

    def __init__(self, dim: int, hidden_dim: int, drop: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class FocalModulation(nn.Module):
    """Focal modulation (the token mixer that replaces self-attention).

    ``f`` projects ``x`` into a query ``q``, a context ``ctx`` and
    ``L + 1`` gates. ``L`` depth-wise conv + GELU layers (kernel
    ``focal_window + focal_factor * l``) give hierarchical contexts, each
    weighted by its gate and summed; the global context (GELU of the spatial
    mean of the last level) is added with the last gate. The sum is divided
    by ``L + 1`` if ``scaling_modulator``, mixed by the 1x1 conv ``h`` into
    the modulator ``m``, and the output is ``proj(q * m)``.

    Args:
        dim (int): channels C.
        focal_level (int): number of focal levels L.
        focal_window (int): kernel size of the first focal level.
        focal_factor (int): kernel growth per level.
        proj_drop (float): dropout after ``proj``.
        use_postln_in_modulation (bool): LayerNorm ``ln`` before ``proj``.
        scaling_modulator (bool): divide the context by ``L + 1``.
    """

    def __init__(self,
                 dim: int,
                 focal_level: int = 2,
                 focal_window: int = 7,
                 focal_factor: int = 2,
                 proj_drop: float = 0.,
                 use_postln_in_modulation: bool = False,
                 scaling_modulator: bool = False) -> None:
        super().__init__()
        self.dim = dim
        self.focal_level = focal_level
        self.use_postln_in_modulation = use_postln_in_modulation
        self.scaling_modulator = scaling_modulator

        self.f = nn.Linear(dim, 2 * dim + focal_level + 1, bias=True)
        self.h = nn.Conv2d(dim, dim, kernel_size=1, bias=True)
        self.act = nn.GELU()
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.focal_layers = nn.ModuleList()
        for level in range(focal_level):
            k = focal_window + focal_factor * level
            self.focal_layers.append(
                nn.Sequential(
                    nn.Conv2d(
                        dim,
                        dim,
                        kernel_size=k,
                        padding=k // 2,
                        groups=dim,
                        bias=False), nn.GELU()))
        if use_postln_in_modulation:
            self.ln = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x [B, H, W, C]. Returns [B, H, W, C]."""
        C = x.shape[-1]
        # channels-last views of the [B, H, W, C] tokens: the convs run on
        # NHWC memory and nothing is transposed back and forth (same math
        # as the official NCHW copies, float noise only)
        x = self.f(x).permute(0, 3, 1, 2)
        q, ctx, gates = torch.split(x, (C, C, self.focal_level + 1), dim=1)
        ctx = ctx.contiguous(memory_format=torch.channels_last)

        ctx_all = 0
        for level, layer in enumerate(self.focal_layers):
            ctx = layer(ctx)
            ctx_all = ctx_all + ctx * gates[:, level:level + 1]
        # global context: mean over H, then over W (official order)
        ctx_global = self.act(ctx.mean(2, keepdim=True).mean(3, keepdim=True))
        ctx_all = ctx_all + ctx_global * gates[:, self.focal_level:]
        if self.scaling_modulator:
            ctx_all = ctx_all / (self.focal_level + 1)

        out = (q * self.h(ctx_all)).permute(0, 2, 3, 1).contiguous()
        if self.use_postln_in_modulation:
            out = self.ln(out)
        return self.proj_drop(self.proj(out))


class FocalModulationBlock(nn.Module):
    """One FocalNet block: focal modulation + MLP, each with a residual.

    Tokens ``[B, H*W, C]``; ``H, W`` are given to :meth:`forward`.
    ``variant`` selects the official block (see the module docstring);
    ``use_postln`` selects post- vs pre-normalisation; ``gamma_1/gamma_2``
    are layer-scale vectors (initialised to ``layerscale_value``) when
    ``use_layerscale``, else the constant 1.
    """

    def __init__(self,
                 dim: int,
                 variant: str = 'focal_dw',
                 mlp_ratio: float = 4.,
                 drop: float = 0.,
                 drop_path: float = 0.,
                 focal_level: int = 2,
                 focal_window: int = 9,
                 use_postln: bool = False,
                 use_postln_in_modulation: bool = False,
                 scaling_modulator: bool = False,
                 use_layerscale: bool = False,
                 layerscale_value: float = 1e-4) -> None:
        super().__init__()
        self.variant = variant
        self.use_postln = use_postln
        self.use_layerscale = use_layerscale
        depthwise = variant == 'focal_dw'
        if depthwise:
            self.dw1 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        self.modulation = FocalModulation(
            dim,
            focal_level=focal_level,
            focal_window=focal_window,
            proj_drop=drop,
            use_postln_in_modulation=use_postln_in_modulation,
            scaling_modulator=scaling_modulator)
        if depthwise:
            self.dw2 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0. \
            else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        if use_layerscale:
            self.gamma_1 = nn.Parameter(layerscale_value * torch.ones(dim))
            self.gamma_2 = nn.Parameter(layerscale_value * torch.ones(dim))
        else:
            self.gamma_1 = 1.0
            self.gamma_2 = 1.0

    @staticmethod
    def _add_dwconv(conv: nn.Conv2d, x: Tensor, H: int, W: int) -> Tensor:
        """``x + conv(x)`` on tokens [B, H*W, C]."""
        B, L, C = x.shape
        x = x.view(B, H, W, C).permute(0, 3, 1, 2)  # channels-last view
        x = x + conv(x)
        return x.permute(0, 2, 3, 1).reshape(B, L, C)

    def forward(self, x: Tensor, H: int, W: int) -> Tensor:
        """Args: x [B, H*W, C]. Returns [B, H*W, C]."""
        B, L, C = x.shape
        if L != H * W:
            raise ValueError(f'got {L} tokens for a {H}x{W} map')
        if self.variant == 'focal_dw':
            x = self._add_dwconv(self.dw1, x, H, W)
        shortcut = x
        if not self.use_postln:
            x = self.norm1(x)
        x = self.modulation(x.view(B, H, W, C)).view(B, L, C)

        if self.variant == 'focal_dw':
            x = shortcut + self.drop_path(self.gamma_1 * x)
            if self.use_postln:
                x = self.norm1(x)
            x = self._add_dwconv(self.dw2, x, H, W)
            if self.use_postln:
                x = x + self.drop_path(self.gamma_2 * self.mlp(x))
                x = self.norm2(x)
            else:
                x = x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))
        else:
            if self.use_postln:
                x = self.norm1(x)
            x = shortcut + self.drop_path(self.gamma_1 * x)
            if self.use_postln:
                x = x + self.drop_path(self.gamma_2 * self.norm2(self.mlp(x)))
            else:
                x = x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))
        return x


class PatchEmbed(nn.Module):
    """Patch embedding / patch merging: conv ``proj`` + optional LN ``norm``.

    Zero-pads ``[B, C, H, W]`` on the right/bottom to a multiple of
    ``patch_size`` first. With ``use_conv_embed`` the conv is overlapping:
    7x7 stride 4 for the stem (padding ``stem_padding``), 3x3 stride 2
    padding 1 otherwise; else a non-overlapping ``patch_size`` conv.
    """

    def __init__(self,
                 patch_size: int = 4,
                 in_chans: int = 3,
                 embed_dim: int = 96,
                 use_norm: bool = True,
                 use_conv_embed: bool = False,
                 is_stem: bool = False,
                 stem_padding: int = 3) -> None:
        super().__init__()
        self.patch_size = (patch_size, patch_size)
        self.embed_dim = embed_dim
        if use_conv_embed:
            if is_stem:
                kernel, stride, padding = 7, 4, stem_padding
            else:
                kernel, stride, padding = 3, 2, 1
            self.proj = nn.Conv2d(
                in_chans, embed_dim, kernel, stride=stride, padding=padding)
        else:
            self.proj = nn.Conv2d(
                in_chans, embed_dim, patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim) if use_norm else None

    def forward(self, x: Tensor) -> Tensor:
        """Args: x [B, C_in, H, W]. Returns [B, embed_dim, H', W']."""
        H, W = x.shape[-2:]
        ph, pw = self.patch_size
        if W % pw != 0:
            x = F.pad(x, (0, pw - W % pw))
        if H % ph != 0:
            x = F.pad(x, (0, 0, 0, ph - H % ph))
        x = self.proj(x)
        if self.norm is not None:
            Hp, Wp = x.shape[-2:]
            x = self.norm(x.flatten(2).transpose(1, 2))
            x = x.transpose(1, 2).view(-1, self.embed_dim, Hp, Wp)
        return x


class BasicLayer(nn.Module):
    """One FocalNet stage: ``blocks`` then an optional ``downsample``.

    ``forward(x, H, W)`` returns ``(x_out, H, W, x_next, H_next, W_next)``
    where ``x_out`` is the stage output and ``x_next`` the downsampled
    tokens for the next stage (``x_out`` itself for the last stage).
    """

    def __init__(self,
                 dim: int,
                 depth: int,
                 drop_path: Sequence[float],
                 downsample: bool,
                 use_conv_embed: bool = False,
                 use_checkpoint: bool = False,
                 **block_kwargs) -> None:
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.blocks = nn.ModuleList([
            FocalModulationBlock(dim, drop_path=drop_path[i], **block_kwargs)
            for i in range(depth)
        ])
        if downsample:
            self.downsample = PatchEmbed(
                patch_size=2,
                in_chans=dim,
                embed_dim=2 * dim,
                use_norm=True,
                use_conv_embed=use_conv_embed,
                is_stem=False)
        else:
            self.downsample = None

    def forward(self, x: Tensor, H: int, W: int):
        for blk in self.blocks:
            if self.use_checkpoint and x.requires_grad:
                x = torch.utils.checkpoint.checkpoint(
                    blk, x, H, W, use_reentrant=False)
            else:
                x = blk(x, H, W)
        if self.downsample is None:
            return x, H, W, x, H, W
        x_map = x.transpose(1, 2).reshape(x.shape[0], x.shape[-1], H, W)
        x_down = self.downsample(x_map)
        Hd, Wd = x_down.shape[-2:]
        return x, H, W, x_down.flatten(2).transpose(1, 2), Hd, Wd
