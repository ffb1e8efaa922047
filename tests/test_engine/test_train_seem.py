"""2-iteration `tools/train.py` runs of the SEEM and X-Decoder training
configs (the small models) on a freshly generated tiny synthetic set (no
evaluation)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    'configs/seem/seem_small_8xb2-2k_synthetic.py',
    'configs/baselines/xdecoder_small_8xb2-2k_synthetic.py',
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
