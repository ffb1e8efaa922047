"""Backbone wrapper: any mmdet/mmseg backbone as a SEEM image encoder.

Not in mmdet/mmseg: mmdet/mmseg backbones return a tuple of feature maps,
while SEEM's pixel decoder (like detectron2's) consumes a dict
``{'res2', 'res3', 'res4', 'res5'}`` keyed by stride (4/8/16/32) together
with each entry's channels and stride. This wrapper builds the wrapped
backbone from a config and converts its output, so that SEEM and mmdet's
Mask2Former can be run on the very same backbone.
"""
import math
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmseem.registry import MODELS


class ShapeSpec(NamedTuple):
    """Channels and stride of one backbone output (detectron2's ShapeSpec)."""

    channels: int
    stride: int


def stride_to_name(stride: int) -> str:
    """Name of the feature of a given stride: 4 -> 'res2', ..., 32 -> 'res5'.

    Raises:
        ValueError: if ``stride`` is not a power of two >= 2.
    """
    level = math.log2(stride) if stride > 0 else -1
    if stride < 2 or level != int(level):
        raise ValueError(
            f'cannot name a feature of stride {stride}: strides must be '
            'powers of two (4, 8, 16, 32 -> res2..res5)')
    return f'res{int(level)}'


@MODELS.register_module()
class BackboneWrapper(BaseModule):
    """Wrap an mmdet/mmseg backbone so it returns SEEM's ``res2..res5`` dict.

    The wrapped backbone is built from ``backbone``
    (e.g. ``dict(type='mmdet.ResNet', depth=50)`` or
    ``dict(type='mmdet.SwinTransformer', ...)``). Its outputs (a tuple of
    ``[B, C_i, H / s_i, W / s_i]`` maps) are named after their stride
    ``s_i``: ``res{log2(s_i)}``.

    Channels and strides are found once at construction by running the
    backbone on a dummy image of ``probe_size`` (under ``torch.no_grad`` and
    in eval mode, so batch-norm statistics are untouched), unless both
    ``out_channels`` and ``strides`` are given explicitly.

    Args:
        backbone (dict): config of the wrapped backbone.
        out_channels (Sequence[int], optional): channels of each output, in
            the backbone's output order. Inferred when None.
        strides (Sequence[int], optional): stride of each output. Inferred
            (input size / output size) when None.
        out_features (Sequence[str], optional): which names to return, e.g.
            ``('res2', 'res3', 'res4', 'res5')``. All when None.
        probe_size (int): side of the dummy image used for inference of
            channels/strides. Must be divisible by the largest stride.
        size_divisibility (int): what the inputs should be padded to a
            multiple of (read by the segmentor / data preprocessor).
        init_cfg (dict, optional): mmengine init config.

    Attributes:
        out_features (list[str]): returned names, from high to low resolution.
        out_channels (dict[str, int]): channels per name.
        strides (dict[str, int]): stride per name.
    """

    def __init__(self,
                 backbone: dict,
                 out_channels: Optional[Sequence[int]] = None,
                 strides: Optional[Sequence[int]] = None,
                 out_features: Optional[Sequence[str]] = None,
                 probe_size: int = 64,
                 size_divisibility: int = 32,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(backbone, dict):
            raise TypeError(
                'BackboneWrapper(backbone=...) takes a config dict such as '
                f"dict(type='mmdet.ResNet', depth=50), got {type(backbone)}")
        self.backbone = MODELS.build(backbone)
        self.size_divisibility = size_divisibility

        if out_channels is None or strides is None:
            probe_channels, probe_strides = self._probe(probe_size)
            out_channels = probe_channels if out_channels is None \
                else out_channels
            strides = probe_strides if strides is None else strides
        if len(out_channels) != len(strides):
            raise ValueError(
                f'out_channels {list(out_channels)} and strides '
                f'{list(strides)} must have one entry per backbone output')
        names = [stride_to_name(s) for s in strides]
        if len(set(names)) != len(names):
            raise ValueError(
                f'backbone outputs have repeated strides {list(strides)}; '
                'set out_indices of the backbone so each stride appears once')
        self._all_names = names
        if out_features is None:
            out_features = names
        missing = [n for n in out_features if n not in names]
        if missing:
            raise ValueError(
                f'out_features {missing} are not produced by the backbone, '
                f'which gives {names}; change out_features or the backbone '
                'out_indices')
        self.out_features: List[str] = list(out_features)
        self.out_channels: Dict[str, int] = {
            n: int(c) for n, c in zip(names, out_channels)
            if n in self.out_features
        }
        self.strides: Dict[str, int] = {
            n: int(s) for n, s in zip(names, strides)
            if n in self.out_features
        }

    @torch.no_grad()
    def _probe(self, size: int):
        was_training = self.backbone.training
        self.backbone.eval()
        try:
            dummy = torch.zeros(1, 3, size, size)
            outs = self._as_tuple(self.backbone(dummy))
        finally:
            self.backbone.train(was_training)
        channels = [o.shape[1] for o in outs]
        strides = []
        for o in outs:
            if size % o.shape[-1] != 0:
                raise ValueError(
                    f'probe_size={size} is not a multiple of a backbone '
                    f'stride (output width {o.shape[-1]}); pass strides= '
                    'explicitly or a probe_size divisible by 32')
            strides.append(size // o.shape[-1])
        return channels, strides

    @staticmethod
    def _as_tuple(outs) -> tuple:
        if isinstance(outs, Tensor):
            return (outs, )
        if isinstance(outs, (list, tuple)):
            return tuple(outs)
        raise TypeError(
            'the wrapped backbone must return a Tensor or a tuple/list of '
            f'Tensors, got {type(outs)}')

    def output_shape(self) -> Dict[str, ShapeSpec]:
        """``{name: ShapeSpec(channels, stride)}`` like detectron2."""
        return {
            n: ShapeSpec(self.out_channels[n], self.strides[n])
            for n in self.out_features
        }

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        """Args: x [B, 3, H, W]. Returns ``{name: [B, C, H/s, W/s]}``."""
        if x.dim() != 4:
            raise ValueError(
                f'BackboneWrapper takes images [B, C, H, W], got {x.shape}')
        outs = self._as_tuple(self.backbone(x))
        if len(outs) != len(self._all_names):
            raise RuntimeError(
                f'backbone returned {len(outs)} maps, expected '
                f'{len(self._all_names)} ({self._all_names})')
        return {
            n: o
            for n, o in zip(self._all_names, outs) if n in self.out_features
        }
