"""Choose the checkpoint that ``resume=True`` loads, safely.

Added by mmseem; mmengine's ``find_latest_checkpoint`` returns the path
stored in ``<work_dir>/last_checkpoint`` as is, so

* a copied work dir resumes the *original* run (the stored path is
  absolute), and
* a truncated latest checkpoint (a kill or a full disk during the write)
  makes the resume fail although older checkpoints are intact.

:func:`resolve_resume_checkpoint` resolves a stored path outside the work
dir to the file of the same name inside it, checks that a checkpoint is
readable (its zip records and CRCs, without unpickling it) and falls back
to the newest readable one, returning the warnings to log.
"""
import os
import os.path as osp
import re
import zipfile
from dataclasses import dataclass, field
from typing import List, Optional

__all__ = [
    'ResumeChoice', 'checkpoint_problem', 'resolve_resume_checkpoint',
    'NoReadableCheckpointError'
]

_STEP = re.compile(r'(?:iter|epoch)_(\d+)\.pth$')


class NoReadableCheckpointError(RuntimeError):
    """Every checkpoint that could be resumed is unreadable."""


@dataclass
class ResumeChoice:
    """The checkpoint to resume (``None``: start from scratch) and the
    warnings / notes to log about how it was chosen."""
    path: Optional[str]
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be loaded as a checkpoint, or ``None`` if it can.

    ``torch.save`` writes a zip archive whose records carry CRC-32s: a file
    cut short loses its central directory, a corrupted one fails its CRC.
    Both are found without unpickling. A file in torch's legacy (non-zip)
    format is loaded with ``weights_only=True``.
    """
    if not osp.isfile(path):
        return 'the file does not exist'
    if osp.getsize(path) == 0:
        return 'the file is empty'
    if not zipfile.is_zipfile(path):
        try:
            import torch
            torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:  # many error types
            return (f'not a complete torch checkpoint (no zip directory; '
                    f'torch.load: {type(e).__name__}: {str(e)[:200]})')
        return None
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        return f'a damaged zip archive ({e})'
    if bad is not None:
        return f'record {bad} fails its CRC check (the file is corrupt)'
    if not any(n.endswith('data.pkl') for n in names):
        return 'a zip archive without data.pkl (not a torch checkpoint)'
    return None


def _step(path: str) -> int:
    m = _STEP.search(osp.basename(path))
    return int(m.group(1)) if m else -1


def _inside(path: str, folder: str) -> bool:
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def _candidates(work_dir: str) -> List[str]:
    """``iter_*.pth`` / ``epoch_*.pth`` in ``work_dir``, newest first (by
    the step in the name, then modification time)."""
    found = [
        osp.join(work_dir, n) for n in os.listdir(work_dir)
        if _STEP.search(n) and not n.startswith('.')
    ]
    return sorted(found, key=lambda p: (_step(p), osp.getmtime(p)),
                  reverse=True)


def resolve_resume_checkpoint(work_dir: str) -> ResumeChoice:
    """The checkpoint ``resume=True`` should load from ``work_dir``.

    Order: the file named by ``last_checkpoint`` (resolved into
    ``work_dir`` when it points outside), then every ``iter_*``/``epoch_*``
    checkpoint of ``work_dir``, newest first; the first readable one wins.
    A stored path outside ``work_dir`` with no copy inside is used last,
    with a warning.

    Raises:
        NoReadableCheckpointError: checkpoints exist but none is readable.
    """
    choice = ResumeChoice(path=None)
    if not osp.isdir(work_dir):
        return choice
    stored, outside = None, None
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            stored = f.read().strip() or None
    order = []
    if stored is not None:
        if not osp.isabs(stored):
            stored = osp.join(work_dir, stored)
        if _inside(stored, work_dir):
            order.append(stored)
        else:
            local = osp.join(work_dir, osp.basename(stored))
            outside = stored
            if osp.isfile(local):
                choice.notes.append(
                    f'last_checkpoint names {stored}, outside this work dir '
                    f'{work_dir} (a copied work dir?); using its copy '
                    f'{local}')
                order.append(local)
    for path in _candidates(work_dir):
        if not any(osp.realpath(path) == osp.realpath(p) for p in order):
            order.append(path)
    bad = []
    for path in order:
        problem = checkpoint_problem(path)
        if problem is None:
            choice.path = path
            break
        bad.append(f'{path}: {problem}')
    if choice.path is None and outside is not None and \
            checkpoint_problem(outside) is None:
        choice.path = outside
        choice.warnings.append(
            f'no readable checkpoint in {work_dir}; resuming {outside}, '
            'which last_checkpoint names outside it (the CheckpointHook '
            'out_dir, or the run this work dir was copied from)')
    if bad and choice.path is None:
        raise NoReadableCheckpointError(
            f'cannot resume from {work_dir}: no readable checkpoint. '
            + '; '.join(bad) + '. Remove the damaged files to train from '
            'scratch, or pass --resume PATH to a good checkpoint.')
    if bad:
        choice.warnings.append(
            'skipped unreadable checkpoint(s) - ' + '; '.join(bad)
            + f'. Falling back to the newest readable one: {choice.path}')
    return choice
