"""FocalNet: the image encoder of SEEM (Focal-T and Focal-L).

Focal modulation networks (Yang et al., NeurIPS 2022) as used by SEEM /
X-Decoder. Not in mmdet/mmseg. Two official variants exist and are both
provided by :class:`FocalNet`, chosen with ``variant``:

- ``'focal_dw'`` (Focal-T in SEEM): each block adds depth-wise 3x3 convs
  ``dw1`` (before the modulation) and ``dw2`` (before the MLP); with
  post-LN the norm follows each residual sum; conv stem 7x7/4, padding 3.
- ``'focal'`` (Focal-L in SEEM): no depth-wise convs; with post-LN the
  norm is applied to each branch before its residual sum
  (``x + g1 * norm1(FM(x))``, ``x + g2 * norm2(MLP(x))``); conv stem
  7x7/4, padding 2.

Parameter names equal the official ones under the ``backbone.`` prefix,
so a SEEM checkpoint loads with the prefix kept (``SEEM.backbone``).

Input sizes: any ``H, W``. As in the official code each patch embedding
zero-pads its input on the right/bottom to a multiple of its patch size, so
the outputs have ``ceil(H / s)`` rows for stride ``s``. The segmentor pads
images to a multiple of :attr:`FocalNet.size_divisibility` (32), which
keeps every stage exact.

The blocks and stages (:class:`FocalModulation` ...) are in
``focalnet_layers.py``.
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, trunc_normal_init
from torch import Tensor

from mmseem.registry import MODELS
from .backbone_wrapper import ShapeSpec
from .focalnet_layers import BasicLayer, PatchEmbed
# re-exported: tests import FocalModulation from this module
from .focalnet_layers import FocalModulation  # noqa: F401

VARIANTS = ('focal_dw', 'focal')


@MODELS.register_module()
class FocalNet(BaseModule):
    """FocalNet backbone of SEEM, returning ``{'res2', ..., 'res5'}``.

    SEEM-specific settings (from ``configs/seem/focal{t,l}_unicl_lang_v1``):
    conv stem, post-LN, layer scale, scaling modulator, one LayerNorm
    ``norm{i}`` per output. Output ``res{i+2}`` has stride ``4 * 2**i`` and
    ``embed_dim * 2**i`` channels.

    Args:
        arch (str | dict): preset name (``'tiny'``: Focal-T, focal_dw,
            96-d, depths 2-2-6-2, focal level 3; ``'large'``: Focal-L, focal,
            192-d, depths 2-2-18-2, focal level 4; ``'test'``: 16-d,
            depths 1-1-1-1, focal level 2, focal_dw) or a dict of the
            arch keys below. Explicit (not None) arguments override it.
        variant (str): ``'focal_dw'`` (official ``focal_dw.py``) or
            ``'focal'`` (official ``focal.py``). See the module docstring.
        embed_dim (int): channels of stage 1.
        depths (Sequence[int]): blocks per stage.
        focal_levels (Sequence[int]): focal levels per stage.
        focal_windows (Sequence[int]): first focal kernel per stage.
        in_channels (int): image channels.
        patch_size (int): stem stride.
        mlp_ratio (float): MLP hidden / embed ratio.
        drop_rate (float): dropout.
        drop_path_rate (float): stochastic depth, linearly increasing.
        patch_norm (bool): LayerNorm after the stem.
        use_conv_embed (bool): overlapping conv stem / downsampling.
        use_postln (bool): post-normalisation in the blocks.
        use_postln_in_modulation (bool): LayerNorm inside the modulation.
        scaling_modulator (bool): divide the modulator by ``L + 1``.
        use_layerscale (bool): learnable ``gamma_1``/``gamma_2``.
        layerscale_value (float): initial layer-scale value.
        out_indices (Sequence[int]): stages to output (0..3 -> res2..res5).
        frozen_stages (int): -1 none; 0 the stem; k >= 2 the stem and
            stages ``0..k-2`` (official semantics).
        use_checkpoint (bool): activation checkpointing per block.
        out_type (str): ``'dict'`` (``{'res2', ...}``, SEEM's pixel decoder)
            or ``'tuple'`` (the maps in ``out_indices`` order, what mmdet /
            mmseg necks and heads such as ``Mask2FormerHead`` take).
        init_cfg (dict, optional): mmengine init config; when None,
            Linear weights get trunc-normal(0.02) and LayerNorms (1, 0).

    Attributes:
        out_features (list[str]), out_channels (dict[str, int]),
        strides (dict[str, int]), size_divisibility (int = 32).
    """

    arch_zoo = {
        'tiny':
        dict(
            variant='focal_dw',
            embed_dim=96,
            depths=(2, 2, 6, 2),
            focal_levels=(3, 3, 3, 3),
            focal_windows=(3, 3, 3, 3)),
        'large':
        dict(
            variant='focal',
            embed_dim=192,
            depths=(2, 2, 18, 2),
            focal_levels=(4, 4, 4, 4),
            focal_windows=(3, 3, 3, 3)),
        'test':
        dict(
            variant='focal_dw',
            embed_dim=16,
            depths=(1, 1, 1, 1),
            focal_levels=(2, 2, 2, 2),
            focal_windows=(3, 3, 3, 3)),
    }
    arch_zoo['t'] = arch_zoo['tiny']
    arch_zoo['l'] = arch_zoo['large']

    size_divisibility = 32

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 variant: Optional[str] = None,
                 embed_dim: Optional[int] = None,
                 depths: Optional[Sequence[int]] = None,
                 focal_levels: Optional[Sequence[int]] = None,
                 focal_windows: Optional[Sequence[int]] = None,
                 in_channels: int = 3,
                 patch_size: int = 4,
                 mlp_ratio: float = 4.,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.3,
                 patch_norm: bool = True,
                 use_conv_embed: bool = True,
                 use_postln: bool = True,
                 use_postln_in_modulation: bool = False,
                 scaling_modulator: bool = True,
                 use_layerscale: bool = True,
                 layerscale_value: float = 1e-4,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 use_checkpoint: bool = False,
                 out_type: str = 'dict',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if out_type not in ('dict', 'tuple'):
            raise ValueError(f"FocalNet out_type must be 'dict' (SEEM) or "
                             f"'tuple' (mmdet/mmseg heads), got {out_type!r}")
        self.out_type = out_type
        if isinstance(arch, str):
            if arch.lower() not in self.arch_zoo:
                raise ValueError(
                    f'unknown FocalNet arch {arch!r}; choose one of '
                    f'{sorted(self.arch_zoo)} or pass a dict')
            preset = copy.deepcopy(self.arch_zoo[arch.lower()])
        elif isinstance(arch, dict):
            preset = dict(arch)
        else:
            raise TypeError(f'arch must be a str or dict, got {type(arch)}')
        given = dict(
            variant=variant,
            embed_dim=embed_dim,
            depths=depths,
            focal_levels=focal_levels,
            focal_windows=focal_windows)
        cfg = {k: v if v is not None else preset.get(k) for k, v in
               given.items()}
        missing = [k for k, v in cfg.items() if v is None]
        if missing:
            raise ValueError(f'FocalNet arch is missing {missing}')
        variant, embed_dim = cfg['variant'], int(cfg['embed_dim'])
        depths = list(cfg['depths'])
        focal_levels = list(cfg['focal_levels'])
        focal_windows = list(cfg['focal_windows'])
        if variant not in VARIANTS:
            raise ValueError(
                f'FocalNet variant must be one of {VARIANTS} (official '
                f'focal_dw.py / focal.py), got {variant!r}')
        num_layers = len(depths)
        if len(focal_levels) != num_layers or \
                len(focal_windows) != num_layers:
            raise ValueError(
                f'depths {depths}, focal_levels {focal_levels} and '
                f'focal_windows {focal_windows} need one entry per stage')
        if any(i < 0 or i >= num_layers for i in out_indices):
            raise ValueError(
                f'out_indices {list(out_indices)} must be in [0, '
                f'{num_layers})')

        self.variant = variant
        self.embed_dim = embed_dim
        self.depths = depths
        self.num_layers = num_layers
        self.out_indices = list(out_indices)
        self.frozen_stages = frozen_stages

        self.patch_embed = PatchEmbed(
            patch_size=patch_size,
            in_chans=in_channels,
            embed_dim=embed_dim,
            use_norm=patch_norm,
            use_conv_embed=use_conv_embed,
            is_stem=True,
            stem_padding=3 if variant == 'focal_dw' else 2)
        self.pos_drop = nn.Dropout(p=drop_rate)

        dpr = torch.linspace(
            0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            start = sum(depths[:i])
            self.layers.append(
                BasicLayer(
                    dim=embed_dim * 2**i,
                    depth=depths[i],
                    drop_path=dpr[start:start + depths[i]],
                    downsample=i < num_layers - 1,
                    use_conv_embed=use_conv_embed,
                    use_checkpoint=use_checkpoint,
                    variant=variant,
                    mlp_ratio=mlp_ratio,
                    drop=drop_rate,
                    focal_level=focal_levels[i],
                    focal_window=focal_windows[i],
                    use_postln=use_postln,
                    use_postln_in_modulation=use_postln_in_modulation,
                    scaling_modulator=scaling_modulator,
                    use_layerscale=use_layerscale,
                    layerscale_value=layerscale_value))

        self.num_features = [embed_dim * 2**i for i in range(num_layers)]
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(self.num_features[i]))

        self.out_features: List[str] = [f'res{i + 2}' for i in
                                        self.out_indices]
        self.out_channels: Dict[str, int] = {
            f'res{i + 2}': self.num_features[i]
            for i in self.out_indices
        }
        self.strides: Dict[str, int] = {
            f'res{i + 2}': patch_size * 2**i
            for i in self.out_indices
        }
        self._freeze_stages()

    def output_shape(self) -> Dict[str, ShapeSpec]:
        """``{name: ShapeSpec(channels, stride)}`` like detectron2."""
        return {
            n: ShapeSpec(self.out_channels[n], self.strides[n])
            for n in self.out_features
        }

    def init_weights(self) -> None:
        """Official init (trunc-normal Linear, unit LayerNorm) or init_cfg."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1.0, bias=0.)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self.patch_embed.eval()
            for p in self.patch_embed.parameters():
                p.requires_grad = False
        if self.frozen_stages >= 2:
            self.pos_drop.eval()
            for i in range(self.frozen_stages - 1):
                self.layers[i].eval()
                for p in self.layers[i].parameters():
                    p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: Tensor) -> Union[Dict[str, Tensor], tuple]:
        """Args: x [B, 3, H, W]. Returns ``{'res{i+2}': [B, C_i, H_i, W_i]}``
        with ``H_i = ceil(H / stride_i)`` (see module docstring), or these
        maps as a tuple with ``out_type='tuple'``."""
        if x.dim() != 4:
            raise ValueError(
                f'FocalNet takes images [B, C, H, W], got shape '
                f'{tuple(x.shape)}')
        x = self.patch_embed(x)
        Hs, Ws = x.shape[-2:]
        x = self.pos_drop(x.flatten(2).transpose(1, 2))
        outs = {}
        for i, layer in enumerate(self.layers):
            x_out, H, W, x, Hs, Ws = layer(x, Hs, Ws)
            if i in self.out_indices:
                x_out = getattr(self, f'norm{i}')(x_out)
                outs[f'res{i + 2}'] = x_out.view(
                    -1, H, W, self.num_features[i]).permute(0, 3, 1,
                                                            2).contiguous()
        return tuple(outs.values()) if self.out_type == 'tuple' else outs
