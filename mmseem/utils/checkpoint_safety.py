"""Let torch's ``weights_only=True`` default load MMEngine checkpoints.

Since torch 2.6 ``torch.load`` refuses any pickled object that is not on its
allow-list.  MMEngine checkpoints carry numpy arrays and scalars (message hub
history buffers, dataset meta) and mmengine's ``HistoryBuffer``, so resuming a
run or ``mmseg.apis.init_model(cfg, ckpt)`` failed with an ``UnpicklingError``
unless users set ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``.

Rather than switching the safe loader off, we add exactly the types that
MMEngine writes to torch's allow-list (``torch.serialization.add_safe_globals``)
and stop MMEngine from pickling its built-in statistics functions (which
would need ``getattr``, an unsafe global) with every ``HistoryBuffer``.
This runs when ``mmseem`` is imported, which every mmseem config does through
``custom_imports``.
"""
import numpy as np
import torch


def _numpy_globals():
    """The numpy callables/classes that pickled arrays and scalars refer to."""
    found = [np.ndarray, np.dtype]
    core = getattr(np, '_core', None) or getattr(np, 'core')
    multiarray = core.multiarray
    for name in ('_reconstruct', 'scalar'):
        if hasattr(multiarray, name):
            found.append(getattr(multiarray, name))
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:  # numpy >= 1.25: one class per dtype
        found += [
            getattr(dtypes, n) for n in dir(dtypes)
            if n.endswith('DType') and isinstance(getattr(dtypes, n), type)
        ]
    # numpy scalar types (np.float64(1.0) pickles via ``scalar`` + dtype)
    found += [
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
        np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64
    ]
    return found


def _mmengine_globals():
    from collections import Counter

    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, Counter]


_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getstate(self) -> dict:
    """``HistoryBuffer.__getstate__`` without mmengine's built-in statistics.

    mmengine pickles ``HistoryBuffer._statistics_methods`` with every buffer:
    the functions ``HistoryBuffer.min`` etc. pickle as
    ``getattr(HistoryBuffer, 'min')``, and allowing ``getattr`` would make
    the safe loader unsafe.  The built-in ones are re-registered by every
    ``HistoryBuffer()``, so only user-registered methods are kept (those
    still need ``weights_only=False``).
    """
    state = self.__dict__.copy()
    custom = {
        k: v
        for k, v in self._statistics_methods.items()
        if k not in _DEFAULT_STATISTICS
    }
    if custom:
        state['statistics_methods'] = custom
    return state


def allow_mmengine_checkpoints() -> None:
    """Put MMEngine's checkpoint types on torch's ``weights_only`` allow-list.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return
    add(_numpy_globals() + _mmengine_globals())
