"""Load data pickles (RefCOCO ``refs(*).p``) without running their code.

Added by mmseem; nothing in mmengine/mmdet restricts ``pickle.load``.
``pickle.load`` calls whatever callable a file names (``os.system`` through
``__reduce__``), before any check of the content can run. RefCOCO refs files
only hold builtin containers and scalars (lists of dicts of str / int / float
/ lists), which pickle encodes with opcodes that call nothing; the few
builtin constructors that older protocols reference by name (``set``,
``frozenset``, ``bytes`` through ``_codecs.encode``, ...) are allowed, every
other global is refused with :class:`UnsafePickleError` before it is looked
up.

Only the standard library is used, so tools that run before the OpenMMLab
stack is installed (``tools/dataset_converters/filter_refcoco_images.py``)
can load this file directly.
"""
import io
import pickle
from typing import Any, BinaryIO, FrozenSet, Tuple

__all__ = [
    'UnsafePickleError', 'RestrictedUnpickler', 'safe_pickle_load',
    'safe_pickle_loads', 'SAFE_GLOBALS'
]

#: ``(module, name)`` of the only globals a data pickle may reference:
#: builtin containers / scalars that protocols 0-2 build by calling them.
SAFE_GLOBALS: FrozenSet[Tuple[str, str]] = frozenset({
    ('builtins', 'set'),
    ('builtins', 'frozenset'),
    ('builtins', 'complex'),
    ('builtins', 'bytearray'),
    ('builtins', 'slice'),
    ('_codecs', 'encode'),  # bytes in protocols 0-2 written by Python 3
    ('collections', 'OrderedDict'),
    # the same names as Python 2 pickles spell them
    ('__builtin__', 'set'),
    ('__builtin__', 'frozenset'),
    ('__builtin__', 'complex'),
    ('__builtin__', 'bytearray'),
    ('__builtin__', 'slice'),
})


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global outside :data:`SAFE_GLOBALS`."""


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`SAFE_GLOBALS`.

    Args:
        file: binary file object.
        source (str): file name shown in errors.
        **kwargs: ``pickle.Unpickler`` options (``encoding`` for Python 2
            pickles, default ``'ASCII'`` as in ``pickle.load``).
    """

    def __init__(self, file: BinaryIO, source: str = '<bytes>', **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f'{self.source}: refusing to unpickle the global '
            f'{module}.{name}. Data pickles (RefCOCO refs files) may hold '
            'only builtin containers and scalars (list, dict, tuple, set, '
            'str, bytes, int, float, bool, None); loading this file could run '
            'code. If the file is a trusted refs file saved with other '
            'types, re-save it as plain lists/dicts or convert it to the '
            'SEEM grounding json format.')

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            f'{self.source}: refusing a persistent id ({pid!r}); data '
            'pickles hold only builtin containers and scalars')


def safe_pickle_load(file: BinaryIO, source: str = None, **kwargs) -> Any:
    """``pickle.load`` restricted to builtin containers and scalars.

    Args:
        file: binary file object opened for reading.
        source (str, optional): file name shown in errors (default: the
            file object's ``name``).
        **kwargs: ``pickle.Unpickler`` options.

    Raises:
        UnsafePickleError: the pickle references another global.
        pickle.UnpicklingError, EOFError, ...: as ``pickle.load``.
    """
    if source is None:
        source = str(getattr(file, 'name', '<stream>'))
    return RestrictedUnpickler(file, source=source, **kwargs).load()


def safe_pickle_loads(data: bytes, source: str = '<bytes>', **kwargs) -> Any:
    """``pickle.loads`` restricted like :func:`safe_pickle_load`."""
    return safe_pickle_load(io.BytesIO(data), source=source, **kwargs)
