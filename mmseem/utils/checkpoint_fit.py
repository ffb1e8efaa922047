"""A checkpoint that does not fit the model is an error, not a log line.

SEEM-specific guard, not in MMEngine: ``mmengine.runner.load_checkpoint``
(used by ``mmseg.apis.init_model``, ``load_from`` and the inferencers) loads
with ``strict=False`` and only *logs* missing / unexpected / mis-shaped
keys, so a checkpoint of another model, or of another SEEM size, "loads"
and the model runs with random weights. :func:`register_checkpoint_fit_check`
adds a ``load_state_dict`` pre-hook to a model (SEEM calls it when built)
that raises :class:`CheckpointMismatchError` when less than
``min_fraction`` (default half) of the model's state entries are in the
checkpoint with the right shape; the message counts and lists examples of
the missing, unexpected and mis-shaped keys. A checkpoint of the same model
with a few missing keys (e.g. SEEM filled from X-Decoder by
``seem2mmseem.py --partial``) still loads as before.
"""
import functools
from dataclasses import dataclass
from typing import List, Mapping

import torch.nn as nn

__all__ = [
    'CheckpointFit', 'CheckpointMismatchError', 'checkpoint_fit',
    'check_checkpoint_fits', 'register_checkpoint_fit_check'
]

MIN_FRACTION = 0.5


class CheckpointMismatchError(ValueError):
    """The checkpoint's state dict does not fit the model."""


@dataclass
class CheckpointFit:
    """How a state dict matches a model's state entries."""
    num_model_keys: int
    matched: List[str]
    missing: List[str]  # in the model, not in the checkpoint
    unexpected: List[str]  # in the checkpoint, not in the model
    mismatched: List[str]  # in both, with another shape

    @property
    def fraction(self) -> float:
        return len(self.matched) / max(self.num_model_keys, 1)


def _shape(value):
    shape = getattr(value, 'shape', None)
    return None if shape is None else tuple(shape)


def checkpoint_fit(model: nn.Module, state_dict: Mapping,
                   prefix: str = '') -> CheckpointFit:
    """Compare ``state_dict`` (keys under ``prefix``) with ``model``."""
    own = {k: _shape(v) for k, v in model.state_dict().items()}
    given = {
        k[len(prefix):]: _shape(v)
        for k, v in state_dict.items()
        if isinstance(k, str) and k.startswith(prefix)
    }
    matched = [k for k in own if k in given and given[k] == own[k]]
    mismatched = [k for k in own if k in given and given[k] != own[k]]
    return CheckpointFit(
        num_model_keys=len(own),
        matched=matched,
        missing=[k for k in own if k not in given],
        unexpected=[k for k in given if k not in own],
        mismatched=mismatched)


def _examples(keys: List[str], n: int = 3) -> str:
    more = f', ... ({len(keys)} in all)' if len(keys) > n else ''
    return ', '.join(repr(k) for k in keys[:n]) + more


def check_checkpoint_fits(model: nn.Module,
                          state_dict: Mapping,
                          prefix: str = '',
                          min_fraction: float = MIN_FRACTION,
                          what: str = 'the checkpoint') -> CheckpointFit:
    """Raise :class:`CheckpointMismatchError` when fewer than
    ``min_fraction`` of ``model``'s state entries are in ``state_dict``
    with their shape."""
    fit = checkpoint_fit(model, state_dict, prefix)
    if fit.fraction >= min_fraction:
        return fit
    lines = [
        f'{what} does not fit {type(model).__name__}: only '
        f'{len(fit.matched)} of its {fit.num_model_keys} state entries are '
        f'in it with the right shape (at least {min_fraction:.0%} needed).'
    ]
    if fit.missing:
        lines.append(f'missing: {_examples(fit.missing)}')
    if fit.unexpected:
        lines.append(f'unexpected: {_examples(fit.unexpected)}')
    if fit.mismatched:
        lines.append(f'other shape: {_examples(fit.mismatched)}')
    lines.append(
        'Is it a checkpoint of this config (same model and size)? Official '
        'SEEM / X-Decoder weights must be converted first with '
        'tools/model_converters/seem2mmseem.py (--partial to fill SEEM '
        'from X-Decoder).')
    raise CheckpointMismatchError('\n'.join(lines))


def register_checkpoint_fit_check(model: nn.Module,
                                  min_fraction: float = MIN_FRACTION) -> None:
    """Check every state dict loaded into ``model`` (as the root module or
    under a wrapper's prefix) with :func:`check_checkpoint_fits`."""

    model._register_load_state_dict_pre_hook(
        functools.partial(_fit_hook, min_fraction=min_fraction),
        with_module=True)


def _fit_hook(module, state_dict, prefix, *args, min_fraction=MIN_FRACTION):
    """``load_state_dict`` pre-hook (module level: the model pickles)."""
    check_checkpoint_fits(module, state_dict, prefix, min_fraction)
