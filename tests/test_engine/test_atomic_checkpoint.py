"""Checkpoints are written atomically and ``resume`` picks a readable one.

A toy model keeps these runner tests fast; the hook under test is the one
every mmseem config gets for ``type='CheckpointHook'``
(``mmseem.engine.AtomicCheckpointHook``). A real kill is simulated in a
child process that dies (``os._exit``) half-way through writing a
checkpoint.
"""
import errno
import logging
import os
import os.path as osp
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmseem.engine import AtomicCheckpointHook, AtomicLocalBackend
from mmseem.registry import HOOKS
from mmseem.utils.resume_checkpoint import (NoReadableCheckpointError,
                                            checkpoint_problem,
                                            resolve_resume_checkpoint)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels))**2).mean())
        return out


class ToyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(2, generator=g),
                    labels=torch.randn(1, generator=g))


def _runner(work_dir, name, max_iters=6, resume=False, load_from=None,
            max_keep=1):
    init_default_scope('mmseem')
    return Runner(
        model=ToyModel(), work_dir=str(work_dir), experiment_name=name,
        train_dataloader=dict(
            dataset=ToyData(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=2, max_keep_ckpts=max_keep),
            logger=dict(type='LoggerHook', interval=100)),
        default_scope='mmseem', resume=resume, load_from=load_from,
        randomness=dict(seed=0))


@pytest.fixture
def hook_log(monkeypatch):
    """The warnings the checkpoint hook logs, joined into one string."""
    import mmseem.engine.atomic_checkpoint_hook as mod
    seen = []
    real = mod._log

    def log(msg, level=logging.INFO):
        if level >= logging.WARNING:
            seen.append(msg)
        real(msg, level)

    monkeypatch.setattr(mod, '_log', log)
    return lambda: '\n'.join(seen)


def test_checkpoint_hook_in_mmseem_scope_is_atomic():
    init_default_scope('mmseem')
    hook = HOOKS.build(dict(type='CheckpointHook', interval=1))
    assert isinstance(hook, AtomicCheckpointHook)
    assert hook.backend_args == dict(backend='mmseem_atomic_local')
    # a remote out_dir keeps mmengine's backend selection
    remote = HOOKS.build(dict(type='CheckpointHook', out_dir='s3://b/x'))
    assert remote.backend_args is None


def test_full_disk_leaves_old_file_and_no_partial(tmp_path, monkeypatch):
    target = tmp_path / 'iter_2.pth'
    target.write_bytes(b'old complete checkpoint')

    def full_disk(fd, *args):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(OSError, match=r'iter_2\.pth failed.*partial file '
                       'was removed') as e:
        AtomicLocalBackend().put(b'x' * 1000, str(target))
    assert e.value.errno == errno.ENOSPC
    assert target.read_bytes() == b'old complete checkpoint'
    assert sorted(os.listdir(tmp_path)) == ['iter_2.pth']


def test_max_keep_one_run_leaves_one_complete_checkpoint(tmp_path):
    _runner(tmp_path, 'keep1').train()
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth'))
    assert files == ['iter_6.pth']
    assert checkpoint_problem(str(tmp_path / 'iter_6.pth')) is None
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read() == str(tmp_path / 'iter_6.pth')
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.partial')]


KILL_SCRIPT = textwrap.dedent('''
    import os, sys
    sys.path.insert(0, {tests!r})
    from test_atomic_checkpoint import _runner
    real_fsync = os.fsync

    def killed_while_writing(fd):
        name = os.readlink(f'/proc/self/fd/{{fd}}')
        if 'iter_4.pth' in name and name.endswith('.partial'):
            size = os.fstat(fd).st_size
            os.ftruncate(fd, size // 2)  # half of it reached the disk
            os._exit(9)
        real_fsync(fd)

    os.fsync = killed_while_writing
    _runner({work_dir!r}, 'killed').train()
''')


def test_kill_during_write_then_resume(tmp_path, hook_log):
    wd = tmp_path / 'wd'
    script = KILL_SCRIPT.format(tests=osp.dirname(__file__), work_dir=str(wd))
    proc = subprocess.run([sys.executable, '-c', script], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr[-2000:]
    names = sorted(os.listdir(wd))
    partial = [n for n in names if n.endswith('.partial')]
    assert len(partial) == 1 and 'iter_4.pth' in partial[0]
    assert 'iter_2.pth' in names and 'iter_4.pth' not in names
    runner = _runner(wd, 'resumed', resume=True)
    runner.train()
    assert runner.iter == 6
    log = hook_log()
    assert 'did not finish' in log and partial[0] in log
    assert f'Resuming from {wd / "iter_2.pth"}' in log
    assert not [n for n in os.listdir(wd) if n.endswith('.partial')]


def test_corrupt_latest_falls_back_with_warning(tmp_path, hook_log):
    _runner(tmp_path, 'full', max_keep=3).train()
    latest = tmp_path / 'iter_6.pth'
    data = latest.read_bytes()
    latest.write_bytes(data[:len(data) // 2])  # cut short
    assert 'zip' in checkpoint_problem(str(latest))
    runner = _runner(tmp_path, 'again', max_iters=8, resume=True, max_keep=3)
    runner.train()
    log = hook_log()
    assert 'iter_6.pth' in log and 'unreadable' in log
    assert f'Resuming from {tmp_path / "iter_4.pth"}' in log
    assert runner.iter == 8


def test_flipped_byte_fails_crc(tmp_path):
    torch.save(dict(state_dict=dict(w=torch.arange(1000.))),
               tmp_path / 'iter_2.pth')
    raw = bytearray((tmp_path / 'iter_2.pth').read_bytes())
    i = raw.find(b'\x00\x00\x80\x3f')  # 1.0 as little-endian float32
    raw[i + 3] ^= 0xFF
    (tmp_path / 'iter_2.pth').write_bytes(bytes(raw))
    assert 'CRC' in checkpoint_problem(str(tmp_path / 'iter_2.pth'))


def test_no_readable_checkpoint_is_an_error(tmp_path):
    (tmp_path / 'iter_2.pth').write_bytes(b'PK\x03\x04 truncated')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    with pytest.raises(NoReadableCheckpointError,
                       match=r'no readable checkpoint.*iter_2\.pth'):
        resolve_resume_checkpoint(str(tmp_path))


def test_explicit_resume_of_corrupt_file_is_refused(tmp_path):
    bad = tmp_path / 'iter_9.pth'
    bad.write_bytes(b'')
    runner = _runner(tmp_path, 'explicit', resume=True, load_from=str(bad))
    with pytest.raises(ValueError, match=r'cannot resume from .*iter_9\.pth'
                       r': the file is empty'):
        runner.train()


def test_copied_work_dir_resumes_its_own_copy(tmp_path, hook_log):
    orig = tmp_path / 'orig'
    _runner(orig, 'orig', max_keep=3).train()
    copy = tmp_path / 'copy'
    shutil.copytree(orig, copy)
    # last_checkpoint in the copy still names the original run
    assert (copy / 'last_checkpoint').read_text() == str(orig / 'iter_6.pth')
    (orig / 'iter_6.pth').write_bytes(b'')  # loading it would fail
    runner = _runner(copy, 'copy', max_iters=8, resume=True, max_keep=3)
    runner.train()
    assert runner.iter == 8
    log = hook_log()
    assert 'outside this work dir' in log
    assert f'Resuming from {copy / "iter_6.pth"}' in log


def test_last_checkpoint_outside_without_local_copy(tmp_path):
    """An out_dir elsewhere (or a copy without checkpoints): the named file
    is resumed, with a warning saying it lies outside the work dir."""
    other = tmp_path / 'elsewhere'
    other.mkdir()
    torch.save(dict(state_dict={}), other / 'iter_4.pth')
    wd = tmp_path / 'wd'
    wd.mkdir()
    (wd / 'last_checkpoint').write_text(str(other / 'iter_4.pth'))
    choice = resolve_resume_checkpoint(str(wd))
    assert choice.path == str(other / 'iter_4.pth')
    assert 'outside it' in choice.warnings[0]
    # a deleted latest inside the work dir falls back to an older file
    torch.save(dict(state_dict={}), wd / 'iter_2.pth')
    (wd / 'last_checkpoint').write_text(str(wd / 'iter_6.pth'))
    choice = resolve_resume_checkpoint(str(wd))
    assert choice.path == str(wd / 'iter_2.pth')
    assert 'iter_6.pth: the file does not exist' in choice.warnings[0]
