"""Atomic file writes: a temporary file in the target's folder, then rename.

Added by mmseem (mmengine's ``LocalBackend.put`` and ``torch.save`` write
in place, so a kill or a full disk leaves a truncated file under the final
name). The temporary file is hidden (``.NAME.PID.partial``), flushed and
fsynced before ``os.replace``; a failed write removes it and re-raises, so
the target is either the complete new file or untouched.
"""
import os
import os.path as osp
from typing import Callable, BinaryIO

__all__ = [
    'PARTIAL_SUFFIX', 'atomic_write', 'atomic_write_bytes',
    'atomic_torch_save', 'refuse_same_file', 'partial_files'
]

#: suffix of the temporary files written by :func:`atomic_write`
PARTIAL_SUFFIX = '.partial'


def _tmp_path(path: str) -> str:
    folder, name = osp.split(osp.abspath(path))
    return osp.join(folder, f'.{name}.{os.getpid()}{PARTIAL_SUFFIX}')


def atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary binary file, then rename it to
    ``path``.

    Raises:
        OSError: the write failed (e.g. ``ENOSPC``); the message names
            ``path`` and says that nothing was written. The partial file is
            removed and an existing ``path`` is left as it was.
    """
    tmp = _tmp_path(path)
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if osp.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise type(e)(
                e.errno, f'writing {path} failed ({e.strerror or e}); the '
                'partial file was removed and any previous file at that path '
                'is unchanged') from e
        raise
    _fsync_dir(osp.dirname(osp.abspath(path)))


def _fsync_dir(folder: str) -> None:
    """Persist the rename (best effort: not every OS/filesystem allows
    opening a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(data))


def atomic_torch_save(obj, path: str) -> None:
    """``torch.save(obj, path)`` through :func:`atomic_write`."""
    import torch
    atomic_write(path, lambda f: torch.save(obj, f))


def refuse_same_file(src: str, dst: str, what: str = 'output') -> None:
    """Raise ``ValueError`` when writing ``dst`` would overwrite ``src``
    (the same path, or a hard / symbolic link to it)."""
    same = osp.abspath(src) == osp.abspath(dst) or (
        osp.exists(src) and osp.exists(dst) and osp.samefile(src, dst))
    if same:
        raise ValueError(
            f'{what} {dst!r} is the input {src!r} (the same file or a link '
            'to it): writing it would destroy the input. Choose another '
            'output path.')


def partial_files(folder: str) -> list:
    """Leftover temporary files of :func:`atomic_write` in ``folder``
    (a write killed before its rename)."""
    if not osp.isdir(folder):
        return []
    return sorted(
        osp.join(folder, n) for n in os.listdir(folder)
        if n.startswith('.') and n.endswith(PARTIAL_SUFFIX))
