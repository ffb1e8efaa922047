"""Image features as they cross module boundaries (typed contracts).

SEEM-specific, not in mmdet/mmseg:

* :class:`ImageFeatures`: what :meth:`SEEM.extract_feat` gives the head
  (pixel-decoder outputs, computed once per image and reused by every
  interactive round);
* :class:`PreparedFeatures`: the decoder's prompt-independent view of them
  (projected levels, position embeddings, per-layer cross-attention keys /
  values), made by :meth:`SEEMDecoder.prepare_features`.

Both are read only: nobody writes into a caller's features (``ImageFeatures``
is frozen; a caller that wants the prepared view cached asks
``extract_feat(..., prepare=True)``).
"""
from dataclasses import dataclass, replace
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ..layers.visual_sampler import project_level_features

__all__ = [
    'ImageFeatures', 'PreparedFeatures', 'check_prepared', 'prepare_features'
]


@dataclass
class PreparedFeatures:
    """The decoder's prompt-independent view of one image batch.

    Attributes:
        src (list[Tensor]): per level [h_l*w_l, B, C] features after
            ``input_proj`` + ``level_embed``.
        pos (list[Tensor]): per level [h_l*w_l, B, C] sine position
            embeddings.
        sizes (list[tuple]): per level (h_l, w_l).
        maps (list[Tensor]): per level [B, C, h_l, w_l] (= ``src``
            unflattened), read by the visual sampler.
        projected (list[Tensor], optional): per level ``maps`` projected by
            ``mask_sptial_embed`` (the maps spatial tokens are sampled from).
        memory_kv (list[tuple], optional): per decoder layer the keys and
            values of its cross-attention
            (:meth:`CrossAttentionLayer.project_memory` of its level).
    """
    src: List[Tensor]
    pos: List[Tensor]
    sizes: List[Tuple[int, int]]
    maps: List[Tensor]
    projected: Optional[List[Tensor]] = None
    memory_kv: Optional[List[Tuple[Tensor, Tensor]]] = None

    @property
    def batch_size(self) -> int:
        return self.src[0].shape[1]


def prepare_features(dec,
                     multi_scale_features: Sequence[Tensor],
                     cache: Optional[bool] = None) -> PreparedFeatures:
    """Everything decoder ``dec`` (:class:`SEEMDecoder`) derives from the
    image alone: projected levels + level embedding, sine position
    embeddings and, with ``cache``, every layer's cross-attention keys /
    values and the visual sampler's projected maps.

    Args:
        multi_scale_features (list[Tensor]): 3 x [B, C_in, h_l, w_l].
        cache (bool, optional): also precompute the cross-attention keys
            / values of every layer and the visual sampler's projected
            maps (the costly prompt-independent work of a round). They
            follow the current weights and carry no gradient when made
            under ``torch.no_grad``, so they are meant for inference.
            Defaults to ``not torch.is_grad_enabled()``.
    """
    levels = len(dec.input_proj)
    if len(multi_scale_features) != levels:
        raise ValueError(f'expected {levels} multi-scale features, '
                         f'got {len(multi_scale_features)}')
    src, pos, sizes, maps = [], [], [], []
    for i, x in enumerate(multi_scale_features):
        b, _, h, w = x.shape
        sizes.append((h, w))
        pe = dec.pe_layer(x.new_zeros((b, h, w), dtype=torch.bool))
        pos.append(pe.to(x.dtype).flatten(2).permute(2, 0, 1))
        m = dec.input_proj[i](x) + dec.level_embed.weight[i][None, :,
                                                                 None,
                                                                 None]
        maps.append(m)
        src.append(m.flatten(2).permute(2, 0, 1))
    prepared = PreparedFeatures(src, pos, sizes, maps)
    if cache is None:
        cache = not torch.is_grad_enabled()
    if cache:
        prepared.memory_kv = [
            layer.project_memory(src[i % levels], pos[i % levels])
            for i, layer in enumerate(
                dec.transformer_cross_attention_layers)
        ]
        if dec.task_switch['spatial']:
            prepared.projected = project_level_features(
                maps, list(dec.mask_sptial_embed))
    return prepared


def check_prepared(prepared, multi_scale_features: Optional[Sequence[Tensor]],
                   mask_features: Tensor, num_layers: int,
                   cross_attention_trainable: bool) -> None:
    """Raise if ``prepared`` does not belong to these features / decoder."""
    if not isinstance(prepared, PreparedFeatures):
        raise TypeError('prepared must be the PreparedFeatures of '
                        'SEEMDecoder.prepare_features, got '
                        f'{type(prepared)}')
    bs = prepared.batch_size
    if mask_features.shape[0] != bs:
        raise ValueError(
            f'prepared features hold {bs} images but mask_features '
            f'{mask_features.shape[0]}: prepare the same image batch')
    if multi_scale_features is not None:
        shapes = [(f.shape[0], tuple(f.shape[-2:]))
                  for f in multi_scale_features]
        if shapes != [(bs, tuple(s)) for s in prepared.sizes]:
            raise ValueError(
                f'prepared features are for (batch, size) '
                f'{[(bs, tuple(s)) for s in prepared.sizes]} but '
                f'multi_scale_features are {shapes}: call '
                'prepare_features on these features')
    kv = prepared.memory_kv
    if kv is not None and len(kv) != num_layers:
        raise ValueError(f'prepared memory_kv has {len(kv)} layers, the '
                         f'decoder {num_layers}')
    if kv is not None and torch.is_grad_enabled() \
            and not kv[0][0].requires_grad and cross_attention_trainable:
        raise ValueError(
            'prepared features hold keys/values made without gradients; '
            'for training call prepare_features(..., cache=False) (or '
            'pass no prepared features)')


_FIELDS = ('mask_features', 'multi_scale_features', 'input_shape',
           'prepared')


@dataclass(frozen=True)
class ImageFeatures:
    """Pixel-decoder outputs of an image batch (:meth:`SEEM.extract_feat`).

    Attributes:
        mask_features (Tensor): [B, C, H/4, W/4] per-pixel embeddings.
        multi_scale_features (list[Tensor]): 3 x [B, C, h, w], coarsest
            first.
        input_shape (tuple): (H, W) of the padded network input.
        prepared (PreparedFeatures, optional): the decoder's
            prompt-independent work on them, when asked for.

    ``feats['mask_features']`` reads a field (callers written against the
    former dict keep working); nothing can be assigned.
    """
    mask_features: Tensor
    multi_scale_features: List[Tensor]
    input_shape: Tuple[int, int]
    prepared: Optional[PreparedFeatures] = None

    @classmethod
    def of(cls, feats: Union['ImageFeatures', Mapping]) -> 'ImageFeatures':
        """``feats`` as :class:`ImageFeatures` (a dict with the field names
        is accepted)."""
        if isinstance(feats, cls):
            return feats
        if isinstance(feats, Mapping):
            unknown = set(feats) - set(_FIELDS)
            if unknown or 'mask_features' not in feats:
                raise ValueError(
                    f'image features need mask_features, '
                    f'multi_scale_features, input_shape (and optionally '
                    f'prepared); got keys {sorted(feats)}')
            return cls(feats['mask_features'],
                       list(feats['multi_scale_features']),
                       tuple(feats['input_shape']), feats.get('prepared'))
        raise TypeError('image features must be ImageFeatures (from '
                        f'SEEM.extract_feat); got {type(feats).__name__}')

    @property
    def batch_size(self) -> int:
        return self.mask_features.shape[0]

    @property
    def device(self) -> torch.device:
        return self.mask_features.device

    def select(self, index: Union[int, slice]) -> 'ImageFeatures':
        """Features of some images of the batch (``prepared`` is dropped:
        it holds the whole batch)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return ImageFeatures(self.mask_features[index],
                             [f[index] for f in self.multi_scale_features],
                             self.input_shape)

    def with_prepared(self, prepared: PreparedFeatures) -> 'ImageFeatures':
        """A copy carrying ``prepared`` (this object is not changed)."""
        return replace(self, prepared=prepared)

    # read-only mapping access, for callers of the former dict
    def __getitem__(self, key: str):
        if key not in _FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: str) -> bool:
        return key in _FIELDS and getattr(self, key) is not None

    def get(self, key: str, default=None):
        return getattr(self, key) if key in self else default

    def keys(self):
        """The field names (``dict(feats)`` gives a plain dict copy)."""
        return list(_FIELDS)
