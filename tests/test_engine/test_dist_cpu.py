"""The distributed path on a CPU machine: torchrun, 2 processes, gloo.

``python -m torch.distributed.run --nproc_per_node 2 tools/train.py CONFIG
--launcher pytorch`` trains the tiny SEEM for 2 iterations (one image per
rank, 64 px); both ranks must end with identical weights (DDP averaged the
gradients), and a second launch, through ``tools/dist_train.sh``, with
``--resume`` must continue from the iteration-2 checkpoint to iteration 3,
again identical on both ranks.
"""
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'seem' / 'seem_tiny_8xb2-1k_synthetic.py'

HOOK = textwrap.dedent('''
    """Test helper: every rank saves its weights after the run."""
    import torch
    from mmengine.dist import get_rank
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper

    from mmseem.registry import HOOKS


    @HOOKS.register_module()
    class _RankDumpHook(Hook):

        def after_run(self, runner):
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            torch.save(
                dict(iter=runner.iter, wrapped=type(runner.model).__name__,
                     backend=torch.distributed.get_backend(),
                     state_dict={k: v.detach().clone()
                                 for k, v in model.state_dict().items()}),
                f'{runner.work_dir}/rank{get_rank()}_iter{runner.iter}.pt')
''')

CFG = textwrap.dedent('''
    _base_ = [{config!r}]
    custom_imports = dict(imports=['mmseem', '_rank_dump_hook'],
                          allow_failed_imports=False)
    custom_hooks = [dict(type='_RankDumpHook')]
    train_dataloader = dict(batch_size=1, dataset=dict(data_root={root!r}))
    train_cfg = dict(max_iters=2, val_interval=100)
    val_dataloader = None
    val_cfg = None
    val_evaluator = None
    test_dataloader = None
    test_cfg = None
    test_evaluator = None
    param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
             end=1),
    ]
    default_hooks = dict(
        checkpoint=dict(interval=2, max_keep_ckpts=1, save_last=True),
        logger=dict(interval=1))
    model = dict(train_cfg=dict(criterion=dict(
        num_points=64, assigner=dict(num_points=64))))
''')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mmseem.datasets.synthetic import generate_synthetic_coco
    tmp = tmp_path_factory.mktemp('dist')
    root = tmp / 'synthetic'
    generate_synthetic_coco(str(root), num_train=4, num_val=1, image_size=64,
                            seed=0)
    (tmp / '_rank_dump_hook.py').write_text(HOOK)
    cfg = tmp / 'seem_tiny_dist.py'
    cfg.write_text(CFG.format(config=str(CONFIG), root=str(root) + '/'))
    return tmp, cfg


def _launch(tmp, cfg, *extra, script=False):
    """torchrun directly, or through ``tools/dist_train.sh`` (``script``)."""
    port = str(_free_port())
    if script:
        cmd = ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(cfg), '2']
    else:
        cmd = [
            sys.executable, '-m', 'torch.distributed.run',
            '--nproc_per_node', '2', '--master_port', port,
            str(REPO / 'tools' / 'train.py'), str(cfg), '--launcher',
            'pytorch'
        ]
    cmd += ['--work-dir', str(tmp / 'wd'), *extra]
    env = dict(os.environ, PYTHONPATH=f'{REPO}{os.pathsep}{tmp}',
               OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1', PORT=port)
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def _same_on_both_ranks(wd, it):
    r0 = torch.load(wd / f'rank0_iter{it}.pt', weights_only=False)
    r1 = torch.load(wd / f'rank1_iter{it}.pt', weights_only=False)
    assert r0['iter'] == r1['iter'] == it
    assert r0['wrapped'] == 'MMDistributedDataParallel'
    assert r0['backend'] == 'gloo'
    a, b = r0['state_dict'], r1['state_dict']
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item()
                for k in a if a[k].numel())
    assert worst == 0.0, f'ranks differ by up to {worst}'
    return a


def test_two_process_gloo_training_and_resume(setup):
    tmp, cfg = setup
    wd = tmp / 'wd'
    out = _launch(tmp, cfg)
    assert 'the distributed backend is gloo' in out
    assert "_cuda_setDevice" not in out
    first = _same_on_both_ranks(wd, 2)
    assert (wd / 'iter_2.pth').is_file()

    out = _launch(tmp, cfg, '--resume', '--cfg-options',
                  'train_cfg.max_iters=3', script=True)
    assert f'Resuming from {wd / "iter_2.pth"}' in out
    second = _same_on_both_ranks(wd, 3)
    # iteration 3 changed the weights (the resumed run really trained)
    moved = max((second[k].float() - first[k].float()).abs().max().item()
                for k in first if first[k].is_floating_point())
    assert moved > 0
