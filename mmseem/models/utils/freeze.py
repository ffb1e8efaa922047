"""Freeze parameters by name (official ``SOLVER.FIX_PARAM``)."""
from typing import Sequence

from torch import nn

__all__ = ['freeze_parameters']


def freeze_parameters(model: nn.Module, keys: Sequence[str]) -> int:
    """``requires_grad=False`` for every parameter of ``model`` whose name
    contains one of ``keys`` (official substring semantics); a key that
    matches no parameter is an error (a typo would silently train
    everything). Returns the number of frozen parameter elements."""
    frozen = 0
    names = [n for n, _ in model.named_parameters()]
    for key in keys:
        if not isinstance(key, str) or not key:
            raise ValueError(f'frozen_modules entries must be non-empty '
                             f'strings; got {key!r}')
        if not any(key in n for n in names):
            raise ValueError(
                f'frozen_modules entry {key!r} matches no parameter of '
                f'{type(model).__name__}; parameter names look like '
                f"{names[:2]} (use e.g. 'backbone', 'pixel_decoder', "
                "'lang_encoder')")
    for name, param in model.named_parameters():
        if any(key in name for key in keys):
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen
