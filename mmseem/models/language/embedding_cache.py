"""On-disk cache of vocabulary (class) embeddings.

mmseem addition, not in SEEM: embedding a large vocabulary with the 81
prompt templates takes tens of seconds on a CPU, so the result is written
to disk and a later process with the same text encoder weights and the same
vocabulary reads it back instead of recomputing it.

The file name is a SHA-256 over everything the embeddings depend on: the
language encoder's parameters and buffers (names, shapes, dtypes, bytes),
the class names in order, the prompt templates, the ``prompt`` flag and the
result dtype. Other weights or another class list give another file, so a
stale entry is never read. Files hold one tensor and are read with
``torch.load(weights_only=True)`` (no arbitrary unpickling) and written
atomically (temp file + rename), so concurrent processes never see half a
file.
"""
import hashlib
import os
import os.path as osp
import tempfile
import warnings
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

__all__ = ['weights_digest', 'EmbeddingDiskCache', 'default_cache_dir']


def default_cache_dir() -> str:
    """``$MMSEEM_CACHE_DIR/class_embeddings`` (default
    ``~/.cache/mmseem/class_embeddings``)."""
    root = os.environ.get('MMSEEM_CACHE_DIR',
                          osp.join(osp.expanduser('~'), '.cache', 'mmseem'))
    return osp.join(root, 'class_embeddings')


def weights_digest(module: nn.Module) -> str:
    """SHA-256 of a module's state (parameter and buffer names, shapes,
    dtypes and values)."""
    h = hashlib.sha256()
    for name, t in list(module.named_parameters()) + list(
            module.named_buffers()):
        t = t.detach()
        h.update(f'{name}|{tuple(t.shape)}|{t.dtype}|'.encode())
        h.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class EmbeddingDiskCache:
    """Class embeddings stored as ``<folder>/<sha256>.pt`` files.

    Args:
        folder (str, optional): Where to keep them; default
            :func:`default_cache_dir`.
    """

    def __init__(self, folder: Optional[str] = None):
        self.folder = folder or default_cache_dir()

    @staticmethod
    def key(weights: str, names: Sequence[str], templates: Sequence[str],
            prompt: bool, dtype: torch.dtype) -> str:
        h = hashlib.sha256()
        for part in (weights, repr(list(names)), repr(list(templates)),
                     repr(bool(prompt)), str(dtype)):
            h.update(part.encode('utf-8'))
            h.update(b'\0')
        return h.hexdigest()

    def path(self, key: str) -> str:
        return osp.join(self.folder, f'{key}.pt')

    def load(self, key: str, num: int) -> Optional[Tensor]:
        """The stored [num, D] tensor, or None (absent or unreadable: an
        unreadable or wrong-shaped file is ignored with a warning and will
        be rewritten)."""
        path = self.path(key)
        if not osp.isfile(path):
            return None
        try:
            emb = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:  # corrupt file: recompute and replace it
            warnings.warn(f'ignoring unreadable class-embedding cache file '
                          f'{path} ({e}); it will be recomputed')
            return None
        if not isinstance(emb, Tensor) or emb.dim() != 2 or \
                emb.shape[0] != num:
            warnings.warn(f'ignoring class-embedding cache file {path}: '
                          f'expected a [{num}, D] tensor')
            return None
        return emb

    def save(self, key: str, emb: Tensor) -> None:
        """Write atomically; a read-only or full disk only warns (the
        embeddings are still used, just not kept)."""
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix='.tmp')
            try:
                with os.fdopen(fd, 'wb') as f:
                    torch.save(emb.detach().cpu().contiguous(), f)
                os.replace(tmp, self.path(key))
            except BaseException:
                if osp.exists(tmp):
                    os.remove(tmp)
                raise
        except OSError as e:
            warnings.warn(f'could not write the class-embedding cache to '
                          f'{self.folder} ({e}); set MMSEEM_CACHE_DIR to a '
                          'writable folder to keep vocabularies across '
                          'processes')
