"""mmseem: SEEM (Segment Everything Everywhere All at Once) for OpenMMLab.

Importing ``mmseem`` runs :func:`setup_runtime` once. Every mmseem config
imports the package (``custom_imports``), and so do ``tools/train.py`` /
``tools/test.py`` and :func:`mmseem.utils.register_all_modules`, so these
process-wide settings are in place wherever an mmseem checkpoint is loaded:

1. :func:`mmseem.utils.env_check.check_environment`: the pinned OpenMMLab
   stack is present (a clear error otherwise);
2. :func:`mmseem.utils.checkpoint_safety.allow_mmengine_checkpoints`: the
   numpy / mmengine types that MMEngine checkpoints pickle go on torch's
   ``weights_only`` allow-list, and mmengine's ``HistoryBuffer`` stops
   pickling its built-in statistics functions, so that ``resume`` and
   ``init_model`` work under torch's safe loader (patches
   ``HistoryBuffer.__getstate__``; checkpoints stay readable by plain
   mmengine);
3. :func:`mmseem.utils.nonfinite.install_nonfinite_load_check`: mmengine's
   local checkpoint loader warns about NaN / Inf weights.

Each step is idempotent; :func:`setup_runtime` may be called again.
"""
from .version import __version__

_RUNTIME_READY = False


def setup_runtime() -> None:
    """The process-wide settings above (idempotent)."""
    global _RUNTIME_READY
    if _RUNTIME_READY:
        return
    from .utils.checkpoint_safety import allow_mmengine_checkpoints
    from .utils.env_check import check_environment
    from .utils.nonfinite import install_nonfinite_load_check
    check_environment()
    allow_mmengine_checkpoints()
    install_nonfinite_load_check()
    _RUNTIME_READY = True


setup_runtime()

__all__ = ['__version__', 'setup_runtime']
