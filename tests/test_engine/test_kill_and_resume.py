"""A SEEM training run killed mid-way and resumed from its last checkpoint
ends exactly where an uninterrupted run ends: same iterations, same losses,
same weights (tiny SEEM, tiny synthetic set, CPU).

The "kill" is an exception raised by a hook after the iteration-3
checkpoint and before the end; the resumed run is a fresh ``Runner`` that
only sees the work dir on disk (``resume=True`` loads ``last_checkpoint``).
Exact equality needs the data order (mmengine skips the consumed batches),
the augmentation RNG (numpy's global state, consumed by those skipped
batches) and the model's own randomness (``SEEM.loss`` runs under RNGs
seeded by the iteration) to be functions of the iteration only.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseem.registry import HOOKS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'seem', 'seem_tiny_8xb2-1k_synthetic.py')
MAX_ITERS = 6
CKPT_EVERY = 3
KILL_AFTER = 5  # iterations done when the "kill" happens


class SimulatedKill(RuntimeError):
    pass


@HOOKS.register_module(name='_TestKillHook', force=True)
class _TestKillHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == KILL_AFTER:
            raise SimulatedKill(f'killed after iteration {KILL_AFTER}')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from mmseem.datasets.synthetic import generate_synthetic_coco
    root = tmp_path_factory.mktemp('resume_data') / 'synthetic'
    generate_synthetic_coco(str(root), num_train=6, num_val=1, image_size=64,
                            seed=0)
    return str(root) + '/'


def _cfg(data_root, work_dir, name, kill=False, resume=False):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.visualizer.name = f'visualizer_{name}'
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.train_cfg.val_interval = 10 * MAX_ITERS  # no validation
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=CKPT_EVERY,
        max_keep_ckpts=3)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1,
                                    log_metric_by_epoch=False)
    cfg.default_hooks.visualization = dict(type='mmdet.DetVisualizationHook')
    cfg.param_scheduler[0].end = 2
    cfg.param_scheduler[1].end = MAX_ITERS
    cfg.param_scheduler[1].milestones = [4, 5]
    cfg.model.train_cfg.criterion.num_points = 64
    cfg.model.train_cfg.criterion.assigner.num_points = 64
    cfg.custom_hooks = [dict(type='_TestKillHook')] if kill else []
    cfg.resume = resume
    cfg.load_from = None
    return cfg


def _losses(runner):
    """Per-iteration total loss from the message hub (a resumed hub holds
    the checkpoint's history, then the resumed iterations)."""
    values, _ = runner.message_hub.get_scalar('train/loss').data
    return [float(v) for v in values]


def _params(runner):
    return {k: v.detach().clone()
            for k, v in runner.model.state_dict().items()}


def test_killed_run_resumes_to_the_same_end(data_root, tmp_path):
    full = Runner.from_cfg(_cfg(data_root, tmp_path / 'full', 'full'))
    full.train()
    assert full.iter == MAX_ITERS
    ref = _params(full)
    ref_losses = _losses(full)
    assert len(ref_losses) == MAX_ITERS

    wd = tmp_path / 'killed'
    killed = Runner.from_cfg(_cfg(data_root, wd, 'killed', kill=True))
    with pytest.raises(SimulatedKill):
        killed.train()
    assert (wd / f'iter_{CKPT_EVERY}.pth').is_file()
    assert not (wd / f'iter_{MAX_ITERS}.pth').exists()
    del killed

    resumed = Runner.from_cfg(_cfg(data_root, wd, 'resumed', resume=True))
    resumed.train()
    assert resumed.iter == MAX_ITERS
    got = _params(resumed)
    assert got.keys() == ref.keys()
    worst = max((got[k].float() - ref[k].float()).abs().max().item()
                for k in ref if ref[k].numel())
    assert worst == 0.0, f'resumed weights differ by up to {worst}'
    # iterations 1..3 come from the checkpoint's message hub, 4..6 were
    # computed by the resumed runner
    assert _losses(resumed) == ref_losses
    # the weights really moved after the checkpoint (not a vacuous match)
    mid = torch.load(wd / f'iter_{CKPT_EVERY}.pth', map_location='cpu',
                     weights_only=False)['state_dict']
    moved = max((v.float() - mid[k].float()).abs().max().item()
                for k, v in ref.items() if v.is_floating_point())
    assert moved > 1e-5
