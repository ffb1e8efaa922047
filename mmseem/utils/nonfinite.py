"""Find NaN / Inf weights in a checkpoint and say which tensors hold them.

Added by mmseem: mmengine and ``torch.load`` load a state dict full of NaN
without a word, and the model then predicts nothing (or garbage) silently.
``seem2mmseem.py`` refuses such a source (``--allow-nonfinite`` overrides);
:func:`install_nonfinite_load_check` wraps mmengine's local checkpoint
loader (used by ``Runner.load_checkpoint`` / ``resume``,
``mmengine.runner.load_checkpoint`` and ``mmseg.apis.init_model``) so that
every load warns, naming the tensors.
"""
import logging
import warnings
from dataclasses import dataclass
from typing import List, Mapping

import torch

__all__ = [
    'NonFiniteTensor', 'NonFiniteWeightsError', 'find_nonfinite',
    'describe_nonfinite', 'warn_if_nonfinite', 'install_nonfinite_load_check'
]

MAX_LISTED = 10


@dataclass(frozen=True)
class NonFiniteTensor:
    """One tensor with non-finite values: its key and the counts."""
    name: str
    num_nan: int
    num_inf: int
    numel: int


class NonFiniteWeightsError(ValueError):
    """A state dict holds NaN or Inf values."""


def _state_dict(checkpoint) -> Mapping:
    if isinstance(checkpoint, Mapping):
        for key in ('state_dict', 'model'):
            inner = checkpoint.get(key)
            if isinstance(inner, Mapping):
                return inner
    return checkpoint if isinstance(checkpoint, Mapping) else {}


def find_nonfinite(checkpoint) -> List[NonFiniteTensor]:
    """Floating tensors of a state dict (or of a checkpoint's
    ``state_dict`` / ``model``) holding NaN or Inf, in key order."""
    found = []
    for name, value in _state_dict(checkpoint).items():
        if not (isinstance(value, torch.Tensor) and
                (value.is_floating_point() or value.is_complex())):
            continue
        if bool(torch.isfinite(value).all()):
            continue
        found.append(
            NonFiniteTensor(
                str(name), int(torch.isnan(value).sum()),
                int(torch.isinf(value).sum()), int(value.numel())))
    return found


def describe_nonfinite(found: List[NonFiniteTensor],
                       limit: int = MAX_LISTED) -> str:
    """``'a.weight (3 NaN, 0 Inf of 12), ...'`` for the first ``limit``."""
    parts = [f'{t.name} ({t.num_nan} NaN, {t.num_inf} Inf of {t.numel})'
             for t in found[:limit]]
    if len(found) > limit:
        parts.append(f'... and {len(found) - limit} more')
    return ', '.join(parts)


def warn_if_nonfinite(checkpoint, source: str) -> List[NonFiniteTensor]:
    """Warn (``warnings`` + mmengine log) when ``checkpoint`` holds
    non-finite weights; return them."""
    found = find_nonfinite(checkpoint)
    if found:
        msg = (f'checkpoint {source} holds NaN/Inf weights in {len(found)} '
               f'tensor(s): {describe_nonfinite(found)}. The model will '
               'produce NaN; the training that wrote it probably diverged.')
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        try:
            from mmengine.logging import print_log
            print_log(msg, logger='current', level=logging.WARNING)
        except ImportError:  # pragma: no cover
            pass
    return found


def install_nonfinite_load_check() -> None:
    """Make mmengine's local-file checkpoint loader warn on NaN / Inf.

    Re-registers the ``''`` (local path) scheme of mmengine's
    ``CheckpointLoader`` with a wrapper of the original loader. Idempotent.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    original = CheckpointLoader._schemes.get('')
    if original is None or getattr(original, '_mmseem_checked', False):
        return

    def load_from_local_checked(filename, map_location):
        checkpoint = original(filename, map_location)
        warn_if_nonfinite(checkpoint, str(filename))
        return checkpoint

    load_from_local_checked._mmseem_checked = True
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_checked, force=True)
