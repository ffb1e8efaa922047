"""mmengine's ``CheckpointHook`` with atomic writes and a safe resume.

Added by mmseem. Registered in the mmseem scope as ``AtomicCheckpointHook``
*and* as ``CheckpointHook``, so every mmseem config (``default_scope =
'mmseem'``) that asks for ``type='CheckpointHook'`` gets it:

* checkpoints and ``last_checkpoint`` are written to a hidden temporary
  file and renamed (:class:`AtomicLocalBackend`); a write that fails (full
  disk) removes its partial file;
* the older checkpoint that ``max_keep_ckpts`` drops is removed only after
  the new one is complete and ``last_checkpoint`` names it (mmengine 0.10
  removes it *before* saving, so with ``max_keep_ckpts=1`` a kill during the
  write left no complete checkpoint at all);
* with ``resume=True`` and no path, the checkpoint is chosen by
  :func:`mmseem.utils.resume_checkpoint.resolve_resume_checkpoint`
  (``before_run``, i.e. before mmengine's ``load_or_resume``): a damaged
  latest checkpoint falls back to the newest readable one with a warning, a
  ``last_checkpoint`` pointing outside a copied work dir resolves to the
  copy, and the chosen file is logged. Leftover partial files of a killed
  write are reported and removed.
"""
import logging
import os
import os.path as osp
from typing import Optional, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from mmseem.registry import HOOKS
from mmseem.utils.atomic_io import atomic_write_bytes, partial_files
from mmseem.utils.resume_checkpoint import (checkpoint_problem,
                                            resolve_resume_checkpoint)

__all__ = ['AtomicLocalBackend', 'AtomicCheckpointHook']

ATOMIC_BACKEND = 'mmseem_atomic_local'


@register_backend(ATOMIC_BACKEND, force=True)
class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` / ``put_text`` write a
    temporary file and rename it (see :mod:`mmseem.utils.atomic_io`)."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        filepath = str(filepath)
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def _log(msg: str, level: int = logging.INFO) -> None:
    print_log(msg, logger='current', level=level)


@HOOKS.register_module(name=['AtomicCheckpointHook', 'CheckpointHook'])
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) writing atomically to local
    folders and choosing a readable checkpoint on auto-resume.

    Remote ``out_dir`` / explicit ``backend_args`` keep mmengine's backend.
    """

    def __init__(self, *args, out_dir: Optional[str] = None,
                 backend_args: Optional[dict] = None, **kwargs):
        local = out_dir is None or '://' not in str(out_dir)
        if backend_args is None and local and \
                kwargs.get('file_client_args') is None:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, out_dir=out_dir, backend_args=backend_args,
                         **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta):
        """mmengine's method (same bookkeeping: ``keep_ckpt_ids`` in the
        message hub is saved with the checkpoint) with the removal of the
        dropped checkpoint moved after the save, and ``last_checkpoint``
        written atomically."""
        dropped = []
        if self.max_keep_ckpts > 0 and not (
                len(self.keep_ckpt_ids) > 0
                and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_bytes(
            osp.join(runner.work_dir, 'last_checkpoint'),
            str(self.last_ckpt).encode('utf-8'))
        for old in dropped:  # only now: the new checkpoint is complete
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed: a folder
                self.file_backend.rmtree(path)

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if not runner._resume:
            return
        if is_main_process():
            for path in partial_files(runner.work_dir):
                _log(f'removing {path}: a checkpoint write that did not '
                     'finish (the run was killed while saving)',
                     logging.WARNING)
                os.unlink(path)
        if runner._load_from is not None:
            problem = checkpoint_problem(str(runner._load_from)) \
                if '://' not in str(runner._load_from) else None
            if problem is not None:
                raise ValueError(
                    f'cannot resume from {runner._load_from}: {problem}. '
                    'Pass another checkpoint, or --resume without a path to '
                    'take the newest readable one of the work dir.')
            _log(f'Resuming from {runner._load_from}', logging.WARNING)
            return
        choice = resolve_resume_checkpoint(runner.work_dir)
        for note in choice.notes:
            _log(note, logging.WARNING)
        for warning in choice.warnings:
            _log(warning, logging.WARNING)
        if choice.path is None:
            _log(f'resume=True but {runner.work_dir} holds no checkpoint: '
                 'training starts from scratch', logging.WARNING)
            return
        _log(f'Resuming from {choice.path}', logging.WARNING)
        runner._load_from = choice.path
