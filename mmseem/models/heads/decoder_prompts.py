"""The prompts of one SEEM decoder pass, typed and checked.

SEEM-specific, not in mmdet/mmseg. :class:`DecoderPrompts` replaces the
official ``extra`` dict of string keys; :meth:`DecoderPrompts.from_dict`
still reads that dict (official key names) so that callers written against
SEEM's code keep working, and rejects unknown keys. The ``check_*``
functions turn the prompts into what the decoder consumes (padded memory
masks, grounding tokens + padding) and say what is wrong when they do not
fit the image batch.
"""
from dataclasses import dataclass, fields
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

__all__ = ['DecoderPrompts', 'check_prev_mask', 'check_grounding']

# official ``extra`` keys -> DecoderPrompts fields
_OFFICIAL_KEYS = dict(
    spatial_query_pos_mask='spatial_pos_masks',
    spatial_query_neg_mask='spatial_neg_masks',
    refimg_tokens='refimg_tokens',
    spatial_query_index='spatial_query_index',
    prev_mask='prev_mask',
    grounding_tokens='grounding_tokens',
    grounding_nonzero_mask='grounding_padding',
    vocabulary='vocabulary',
    spatial_only='spatial_only')


@dataclass
class DecoderPrompts:
    """Prompts of one decoder pass; every field is optional and prompts
    compose (e.g. visual prompts + text).

    Attributes:
        spatial_pos_masks (list[Tensor], optional): B bool tensors
            [P_b, H, W] at the padded input resolution, one mask per visual
            prompt (official ``spatial_query_pos_mask``).
        spatial_neg_masks (list[Tensor], optional): same layout, negative
            clicks / strokes (empty by default).
        refimg_tokens (dict | SampledPromptTokens, optional): visual-prompt
            tokens of a reference image (:meth:`SEEMDecoder.
            encode_reference`); replaces the masks (visual referring).
        spatial_query_index (Tensor, optional): [P*S] or [B, P*S] long, the
            object queries the spatial queries start from; drawn with
            :meth:`SEEMDecoder.draw_spatial_query_index` when None (batched
            independent prompts pass each prompt's own draw).
        prev_mask (Tensor | list[Tensor], optional): [B, P, h, w] previous
            round's mask logits per prompt (or a list of [P_b, h, w]) ->
            memory prompts.
        grounding_tokens (Tensor, optional): [T, B, C] text tokens.
        grounding_padding (Tensor, optional): [B, T] bool, True = padded
            token (official ``grounding_nonzero_mask``).
        vocabulary (str, optional): class-embedding set of the language
            encoder for ``pred_logits``; None: no class logits.
        spatial_only (bool): run only the spatial queries, their tokens and
            the memory prompts (see :class:`SEEMDecoder`).
    """
    spatial_pos_masks: Optional[List[Tensor]] = None
    spatial_neg_masks: Optional[List[Tensor]] = None
    refimg_tokens: Optional[object] = None
    spatial_query_index: Optional[Tensor] = None
    prev_mask: Optional[Union[Tensor, List[Tensor]]] = None
    grounding_tokens: Optional[Tensor] = None
    grounding_padding: Optional[Tensor] = None
    vocabulary: Optional[str] = 'default'
    spatial_only: bool = False

    @classmethod
    def from_dict(cls, extra: Optional[Dict]) -> 'DecoderPrompts':
        """From SEEM's ``extra`` dict (official keys) or a dict of field
        names; an unknown key raises ``KeyError`` naming the valid ones."""
        if extra is None:
            return cls()
        if isinstance(extra, cls):
            return extra
        if not isinstance(extra, dict):
            raise TypeError('prompts must be a DecoderPrompts or a dict of '
                            f'official extra keys; got {type(extra)}')
        names = {f.name for f in fields(cls)}
        kwargs = {}
        for k, v in extra.items():
            name = _OFFICIAL_KEYS.get(k, k)
            if name not in names:
                raise KeyError(
                    f'unknown decoder prompt {k!r}; valid keys: '
                    f'{sorted(set(_OFFICIAL_KEYS) | names)}')
            kwargs[name] = v
        return cls(**kwargs)

    def update(self, other: Union['DecoderPrompts', Dict, None]) -> None:
        """Take every field ``other`` sets (not None / not default)."""
        other = DecoderPrompts.from_dict(other)
        for f in fields(self):
            value = getattr(other, f.name)
            if value is None or (isinstance(value, (bool, str))
                                 and value == f.default):
                continue
            setattr(self, f.name, value)

    @property
    def has_spatial(self) -> bool:
        return (self.spatial_pos_masks is not None
                or self.refimg_tokens is not None)

    @property
    def has_grounding(self) -> bool:
        return self.grounding_tokens is not None

    def check_spatial_only(self, use_spatial: bool,
                           use_grounding: bool) -> bool:
        """``spatial_only``, checked against what runs."""
        if self.spatial_only and not use_spatial:
            raise ValueError(
                'spatial_only needs visual prompts: give '
                'spatial_query_pos_mask (or refimg_tokens), or drop '
                'spatial_only')
        if self.spatial_only and use_grounding:
            raise ValueError(
                'spatial_only runs without the grounding queries: drop '
                'grounding_tokens or spatial_only')
        return bool(self.spatial_only)


def check_prev_mask(prev: Union[Tensor, List[Tensor]], bs: int,
                    num_prompts: int) -> Tensor:
    """``prev_mask`` as [B, P, h, w] (a list is padded: logits with -100,
    bool masks with False)."""
    if isinstance(prev, (list, tuple)):
        if prev and prev[0].dtype == torch.bool:
            prev = pad_sequence(list(prev), batch_first=True)
        else:
            prev = pad_sequence(
                list(prev), batch_first=True, padding_value=-100.)
    if not isinstance(prev, Tensor) or prev.dim() != 4:
        raise ValueError('prev_mask must be [B, P, h, w] mask logits '
                         '(or a list of [P_b, h, w])')
    if prev.shape[0] != bs or prev.shape[1] != num_prompts:
        raise ValueError(
            f'prev_mask is {tuple(prev.shape[:2])} (B, P) but the '
            f'prompts are ({bs}, {num_prompts}); pass the previous '
            "round's prev_mask for the same prompts")
    return prev


def check_grounding(prompts: DecoderPrompts, bs: int,
                    hidden_dim: int) -> Tuple[Tensor, Tensor]:
    """Grounding tokens [T, B, C] and their padding [B, T] (bool)."""
    tokens = prompts.grounding_tokens
    if tokens.dim() != 3 or tokens.shape[1] != bs or \
            tokens.shape[2] != hidden_dim:
        raise ValueError(
            f'grounding_tokens must be [T, B={bs}, C={hidden_dim}], got '
            f'{tuple(tokens.shape)}')
    pad = prompts.grounding_padding
    if pad is None:
        pad = tokens.new_zeros((bs, tokens.shape[0]), dtype=torch.bool)
    if tuple(pad.shape) != (bs, tokens.shape[0]):
        raise ValueError('grounding_nonzero_mask must be [B, T] bool '
                         '(True = padded token)')
    return tokens, pad.bool()
