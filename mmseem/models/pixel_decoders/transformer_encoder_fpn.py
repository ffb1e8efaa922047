"""Pixel decoders of SEEM: ``transformer_encoder_fpn`` and an mmdet adapter.

Head-facing convention (shared by both classes here, so either can be set
as ``pixel_decoder`` in a config):

- input: the backbone dict ``{'res2': [B, C2, H/4, W/4], ...,
  'res5': [B, C5, H/32, W/32]}`` (a list/tuple in res2..res5 order is also
  accepted);
- ``forward(features) -> (mask_features, multi_scale_features)`` with
  ``mask_features`` ``[B, out_channels, H/4, W/4]`` and
  ``multi_scale_features`` a list of 3 maps ``[B, feat_channels, h, w]`` from
  lowest to highest resolution (strides 32, 16, 8), which the SEEM decoder
  cross-attends round-robin;
- ``forward_features(features) -> (mask_features,
  transformer_encoder_features, multi_scale_features)``: the official
  triple (``transformer_encoder_features`` is the 1/32 encoder memory, or
  None for the adapter). SEEM itself ignores the middle entry.

The transformer encoder layers are in ``transformer_encoder.py``.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.models.layers import SinePositionalEncoding
from mmengine.config import ConfigDict
from mmengine.model import BaseModule, caffe2_xavier_init
from torch import Tensor

from mmseem.registry import MODELS
from .transformer_encoder import TransformerEncoderOnly

RES_NAMES = ('res2', 'res3', 'res4', 'res5')


def _features_to_list(features, in_features: Sequence[str]) -> List[Tensor]:
    """Pick ``in_features`` from a dict, or accept a list in that order."""
    if isinstance(features, dict):
        missing = [k for k in in_features if k not in features]
        if missing:
            raise KeyError(
                f'pixel decoder needs backbone features {list(in_features)}'
                f', {missing} missing (got {sorted(features)}); set the '
                'backbone out_indices/out_features to produce them')
        return [features[k] for k in in_features]
    if isinstance(features, (list, tuple)):
        if len(features) != len(in_features):
            raise ValueError(
                f'pixel decoder got {len(features)} feature maps, expected '
                f'{len(in_features)} ({list(in_features)})')
        return list(features)
    raise TypeError('pixel decoder takes a dict {name: Tensor} or a list of '
                    f'Tensors, got {type(features)}')


class ConvNormAct(nn.Conv2d):
    """``act(norm(conv(x)))``, detectron2's ``Conv2d`` with a norm.

    Not mmcv's ``ConvModule``: that one names its parts ``conv``/``gn``,
    while the official checkpoint stores ``<name>.weight`` and
    ``<name>.norm.{weight,bias}``.
    """

    def __init__(self,
                 *args,
                 norm: Optional[nn.Module] = None,
                 activation: Optional[nn.Module] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.norm = norm
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        x = super().forward(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.activation is not None:
            x = self.activation(x)
        return x


def _as_list(value, in_features: Sequence[str], what: str) -> List[int]:
    if isinstance(value, dict):
        missing = [k for k in in_features if k not in value]
        if missing:
            raise ValueError(f'{what} lacks {missing}')
        return [int(value[k]) for k in in_features]
    value = [int(v) for v in value]
    if len(value) != len(in_features):
        raise ValueError(
            f'{what} {value} needs one entry per in_features '
            f'{list(in_features)}')
    return value


@MODELS.register_module()
class TransformerEncoderPixelDecoder(BaseModule):
    """SEEM's ``transformer_encoder_fpn`` pixel decoder.

    A transformer encoder (``transformer_enc_layers`` post-norm DETR layers,
    sine positions) refines the lowest-resolution map (res5, after the 1x1
    ``input_proj``); an FPN then goes top-down: ``layer_4`` (3x3 conv + GN +
    ReLU) on the encoder output, and for res4/res3/res2 a lateral 1x1 conv +
    GN ``adapter_{i}`` plus the nearest-upsampled coarser map, followed by
    ``layer_{i}``. ``mask_features`` (3x3 conv) maps the finest level to the
    per-pixel embeddings. See the module docstring for the outputs.

    Parameter names are the official ones under ``sem_seg_head.
    pixel_decoder.``. Reuses mmdet's ``SinePositionalEncoding`` (same
    numerics; it computes in float32 and the result is cast to the input
    dtype).

    Args:
        in_channels (Sequence[int] | dict): channels of ``in_features``.
        strides (Sequence[int] | dict): their strides (used to sort them;
            official ``input_shape`` order).
        in_features (Sequence[str]): backbone names, e.g. res2..res5.
        feat_channels (int): official ``CONVS_DIM`` (512).
        out_channels (int): official ``MASK_DIM`` (512).
        norm_cfg (dict, optional): norm of the FPN convs, official ``GN``
            = ``dict(type='GN', num_groups=32)``; None for no norm (the
            convs then get a bias).
        transformer_enc_layers (int): official
            ``ENCODER.TRANSFORMER_ENC_LAYERS`` (6).
        transformer_nheads (int): ``DECODER.NHEADS`` (8).
        transformer_dim_feedforward (int): ``DECODER.DIM_FEEDFORWARD``
            (2048).
        transformer_dropout (float): ``DECODER.DROPOUT`` (0.0).
        transformer_pre_norm (bool): ``DECODER.PRE_NORM`` (False).
        mask_on (bool): build ``mask_features`` (official: True for SEEM).
        num_outs (int): multi-scale maps returned (official: 3).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: Union[Sequence[int], Dict[str, int]] = (
                     96, 192, 384, 768),
                 strides: Union[Sequence[int], Dict[str, int]] = (4, 8, 16,
                                                                  32),
                 in_features: Sequence[str] = RES_NAMES,
                 feat_channels: int = 512,
                 out_channels: int = 512,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32),
                 transformer_enc_layers: int = 6,
                 transformer_nheads: int = 8,
                 transformer_dim_feedforward: int = 2048,
                 transformer_dropout: float = 0.0,
                 transformer_pre_norm: bool = False,
                 mask_on: bool = True,
                 num_outs: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_features = list(in_features)
        channels = _as_list(in_channels, in_features, 'in_channels')
        strides = _as_list(strides, in_features, 'strides')
        if norm_cfg is not None and norm_cfg.get('type') == 'GN' and \
                feat_channels % norm_cfg.get('num_groups', 32) != 0:
            raise ValueError(
                f'feat_channels={feat_channels} is not divisible by '
                f"GroupNorm num_groups={norm_cfg.get('num_groups')}; change "
                'one of them')
        if feat_channels % transformer_nheads != 0:
            raise ValueError(
                f'feat_channels={feat_channels} must be divisible by '
                f'transformer_nheads={transformer_nheads}')
        order = sorted(range(len(in_features)), key=lambda i: strides[i])
        self.in_features = [in_features[i] for i in order]  # fine -> coarse
        self.in_channels = [channels[i] for i in order]
        self.strides = [strides[i] for i in order]
        self.feat_channels = feat_channels
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.mask_on = mask_on
        use_bias = norm_cfg is None

        def norm():
            if norm_cfg is None:
                return None
            return build_norm_layer(norm_cfg, feat_channels)[1]

        num_levels = len(self.in_features)
        lateral_convs, output_convs = [], []
        for idx, c in enumerate(self.in_channels[:-1]):
            lateral = ConvNormAct(
                c, feat_channels, kernel_size=1, bias=use_bias, norm=norm())
            output = ConvNormAct(
                feat_channels,
                feat_channels,
                kernel_size=3,
                padding=1,
                bias=use_bias,
                norm=norm(),
                activation=nn.ReLU())
            self.add_module(f'adapter_{idx + 1}', lateral)
            self.add_module(f'layer_{idx + 1}', output)
            lateral_convs.append(lateral)
            output_convs.append(output)
        if mask_on:
            self.mask_features = ConvNormAct(
                feat_channels, out_channels, kernel_size=3, padding=1)

        # lowest resolution: input_proj -> transformer -> layer_{num_levels}
        self.input_proj = ConvNormAct(
            self.in_channels[-1], feat_channels, kernel_size=1)
        self.transformer = TransformerEncoderOnly(
            d_model=feat_channels,
            nhead=transformer_nheads,
            num_encoder_layers=transformer_enc_layers,
            dim_feedforward=transformer_dim_feedforward,
            dropout=transformer_dropout,
            normalize_before=transformer_pre_norm)
        self.pe_layer = SinePositionalEncoding(
            num_feats=feat_channels // 2, normalize=True)
        top = ConvNormAct(
            feat_channels,
            feat_channels,
            kernel_size=3,
            padding=1,
            bias=use_bias,
            norm=norm(),
            activation=nn.ReLU())
        self.add_module(f'layer_{num_levels}', top)
        # top-down order (coarse -> fine); None: no lateral at the top
        self._lateral_names = [None] + [
            f'adapter_{i + 1}' for i in reversed(range(num_levels - 1))
        ]
        self._output_names = [f'layer_{i + 1}'
                              for i in reversed(range(num_levels))]
        self._init_convs()

    def _init_convs(self) -> None:
        """c2_xavier_fill (kaiming-uniform a=1, zero bias) on the convs."""
        for m in self.modules():
            if isinstance(m, ConvNormAct):
                caffe2_xavier_init(m, bias=0)

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            super().init_weights()
        # otherwise keep the official init done in __init__

    def forward_features(
        self, features: Union[Dict[str, Tensor], Sequence[Tensor]]
    ) -> Tuple[Optional[Tensor], Tensor, List[Tensor]]:
        """Official triple ``(mask_features, transformer_encoder_features,
        multi_scale_features)``; see the module docstring."""
        feats = _features_to_list(features, self.in_features)
        multi_scale_features = []
        encoder_features = None
        y = None
        for x, lateral_name, output_name in zip(
                feats[::-1], self._lateral_names, self._output_names):
            output_conv = getattr(self, output_name)
            if lateral_name is None:
                mask = x.new_zeros((x.shape[0], ) + x.shape[-2:],
                                   dtype=torch.bool)
                pos = self.pe_layer(mask).to(x.dtype)
                encoder_features = self.transformer(
                    self.input_proj(x), None, pos)
                y = output_conv(encoder_features)
            else:
                lateral = getattr(self, lateral_name)(x)
                y = lateral + F.interpolate(
                    y, size=lateral.shape[-2:], mode='nearest')
                y = output_conv(y)
            if len(multi_scale_features) < self.num_outs:
                multi_scale_features.append(y)
        mask_features = self.mask_features(y) if self.mask_on else None
        return mask_features, encoder_features, multi_scale_features

    def forward(
        self, features: Union[Dict[str, Tensor], Sequence[Tensor]]
    ) -> Tuple[Optional[Tensor], List[Tensor]]:
        """Returns ``(mask_features, multi_scale_features)``."""
        mask_features, _, multi_scale_features = self.forward_features(
            features)
        return mask_features, multi_scale_features


@MODELS.register_module()
class MSDeformAttnPixelDecoderAdapter(BaseModule):
    """mmdet's ``MSDeformAttnPixelDecoder`` behind SEEM's pixel-decoder API.

    Not in mmdet/mmseg: converts the backbone dict to the res2..res5 list
    mmdet expects; the decoder is stored as ``pixel_decoder`` (so its keys
    are ``pixel_decoder.*``, mmdet's names, not SEEM's). mmdet already
    returns ``(mask_feature, multi_scale_features)`` with the 3 maps from
    lowest to highest resolution, i.e. the common convention.

    Args:
        pixel_decoder (dict): config of ``mmdet.MSDeformAttnPixelDecoder``
            (type may be omitted); ``in_channels``, ``strides``,
            ``feat_channels`` and ``out_channels`` given here are filled in.
        in_channels, strides, in_features, feat_channels, out_channels: as
            in :class:`TransformerEncoderPixelDecoder`.
    """

    def __init__(self,
                 pixel_decoder: dict,
                 in_channels: Union[Sequence[int], Dict[str, int]] = (
                     96, 192, 384, 768),
                 strides: Union[Sequence[int], Dict[str, int]] = (4, 8, 16,
                                                                  32),
                 in_features: Sequence[str] = RES_NAMES,
                 feat_channels: int = 256,
                 out_channels: int = 256,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_features = list(in_features)
        channels = _as_list(in_channels, in_features, 'in_channels')
        strides = _as_list(strides, in_features, 'strides')
        order = sorted(range(len(in_features)), key=lambda i: strides[i])
        self.in_features = [in_features[i] for i in order]
        # mmdet reads nested configs by attribute (encoder.layer_cfg...)
        cfg = ConfigDict(copy.deepcopy(dict(pixel_decoder)))
        cfg.setdefault('type', 'mmdet.MSDeformAttnPixelDecoder')
        cfg.update(
            in_channels=[channels[i] for i in order],
            strides=[strides[i] for i in order],
            feat_channels=feat_channels,
            out_channels=out_channels)
        self.pixel_decoder = MODELS.build(cfg)
        self.feat_channels = feat_channels
        self.out_channels = out_channels

    def forward_features(self, features):
        """Official-style triple; the encoder memory is not exposed (None)."""
        mask_features, multi_scale_features = self.forward(features)
        return mask_features, None, multi_scale_features

    def forward(self, features):
        """Returns ``(mask_features, multi_scale_features)``."""
        feats = _features_to_list(features, self.in_features)
        mask_features, multi_scale_features = self.pixel_decoder(feats)
        return mask_features, list(multi_scale_features)
