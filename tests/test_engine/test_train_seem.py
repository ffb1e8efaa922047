"""2-iteration `tools/train.py` runs of the SEEM and X-Decoder training
configs (the small models) on a freshly generated tiny synthetic set (no
evaluation)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A directory holding ``data/synthetic`` (as the configs expect it
    relative to the working directory), like a user's project dir."""
    from mmseem.datasets.synthetic import generate_synthetic_coco
    ws = tmp_path_factory.mktemp('ws')
    generate_synthetic_coco(str(ws / 'data' / 'synthetic'), num_train=4,
                            num_val=1, image_size=64, seed=0)
    return ws


@pytest.mark.parametrize('config', [
    'configs/seem/seem_small_8xb2-3k_synthetic.py',
    'configs/baselines/xdecoder_small_8xb2-3k_synthetic.py',
])
def test_two_training_iterations(config, workspace, tmp_path):
    wd = tmp_path / 'wd'
    cmd = [
        sys.executable, str(REPO / 'tools' / 'train.py'), str(REPO / config),
        '--work-dir', str(wd),
        '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'param_scheduler.0.end=2', 'model.train_cfg.criterion.num_points=64',
        'model.train_cfg.criterion.assigner.num_points=64'
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='2',
               PYTHONUNBUFFERED='1')
    proc = subprocess.run(cmd, cwd=workspace, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (wd / 'iter_2.pth').is_file()
    scalars = list(wd.glob('*/vis_data/scalars.json'))
    records = [json.loads(x) for x in scalars[0].read_text().splitlines()
               if x.strip()]
    losses = [r for r in records if 'loss' in r]
    assert len(losses) == 2
    import math
    assert all(math.isfinite(r['loss']) for r in losses)
    assert 'loss_grounding_ce' in losses[-1]
    assert ('loss_spatial_ce' in losses[-1]) == ('seem/' in config)


# the loss terms of each SEEM task (final decoder layer)
TASK_LOSSES = dict(
    generic=('loss_cls', 'loss_mask', 'loss_dice'),
    grounding=('loss_grounding_ce', 'loss_grounding_bce',
               'loss_grounding_dice'),
    spatial=('loss_spatial_ce', 'loss_spatial_bce', 'loss_spatial_dice'))


def test_every_task_loss_goes_down(workspace, tmp_path):
    """A tiny budget (the tiny SEEM, 4 images of 64 px, 60 iterations) is
    enough for every task's loss to fall: the mean of the last 15
    iterations is below that of the first 15, for each task's summed
    terms."""
    wd = tmp_path / 'wd'
    iters = 60
    cmd = [
        sys.executable, str(REPO / 'tools' / 'train.py'),
        str(REPO / 'configs/seem/seem_tiny_8xb2-1k_synthetic.py'),
        '--work-dir', str(wd),
        '--cfg-options', f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters + 1}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1', 'param_scheduler.0.end=5',
        f'param_scheduler.1.end={iters}', 'param_scheduler.1.milestones=[]',
        'optim_wrapper.optimizer.lr=1e-3',
        'model.train_cfg.criterion.num_points=256',
        'model.train_cfg.criterion.assigner.num_points=256'
    ]
    # one thread: two threads per process on a shared (oversubscribed)
    # CPU made one iteration ~25x slower
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1',
               PYTHONUNBUFFERED='1')
    proc = subprocess.run(cmd, cwd=workspace, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    scalars = list(wd.glob('*/vis_data/scalars.json'))
    records = [json.loads(x) for x in scalars[0].read_text().splitlines()
               if x.strip()]
    losses = [r for r in records if 'loss' in r]
    assert len(losses) == iters
    for task, keys in TASK_LOSSES.items():
        missing = [k for k in keys if k not in losses[0]]
        assert not missing, (task, missing, sorted(losses[0]))
        curve = [sum(r[k] for k in keys) for r in losses]
        first, last = sum(curve[:15]) / 15, sum(curve[-15:]) / 15
        assert last < first, (task, first, last)


def test_small_recipe_text_side():
    """The synthetic recipe's deviations (see the config comments): SEEM
    small on mmdet's ResNet-18, class names through a frozen snapshot of
    the random-init text encoder while the encoder itself trains for the
    sentences, bare class names, temperature from e^3."""
    from mmengine.config import Config

    from mmseem.registry import MODELS
    from mmseem.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(
        str(REPO / 'configs/seem/seem_small_8xb2-3k_synthetic.py'))
    assert not cfg.model.get('frozen_modules')
    model = MODELS.build(cfg.model)
    model.init_weights()
    le = model.sem_seg_head.lang_encoder
    assert type(le).__name__ == 'FrozenVocabularyLanguageEncoder'
    assert le.prompt_templates == ('{}', )
    assert float(le.logit_scale) == 3.0 and le.logit_scale.requires_grad
    assert all(p.requires_grad for p in le.lang_encoder.parameters())
    assert le.lang_proj.requires_grad
    assert not any(p.requires_grad for p in le.vocab_encoder.parameters())
    # the snapshot is taken after the whole model's init_weights
    own, snap = le.lang_encoder.state_dict(), le.vocab_encoder.state_dict()
    assert all(torch.equal(own[k], snap[k]) for k in own)
    assert torch.equal(le.lang_proj, le.vocab_proj)
    assert type(model.backbone).__name__ == 'BackboneWrapper'
    assert all(p.requires_grad for p in model.backbone.parameters())
    # the evaluation configs build the same model (same class embeddings)
    ev = Config.fromfile(
        str(REPO / 'configs/seem/seem_small_synthetic-panoptic.py'))
    assert ev.model.sem_seg_head.predictor.lang_encoder == \
        cfg.model.sem_seg_head.predictor.lang_encoder
