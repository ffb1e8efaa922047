"""`mim train` / `mim test` of the Mask2Former baseline on a tiny synthetic
set, from a directory outside the repository (mim finds the config by name in
the installed package), then resume (under torch's ``weights_only`` default)
and load the checkpoint with mmdet's ``init_detector``."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

CONFIG_NAME = 'mask2former_r18_8xb2-3k_synthetic.py'


def _installed_mim_dir():
    import importlib.util
    spec = importlib.util.find_spec('mmseem')
    return Path(spec.origin).parent / '.mim'


def _run(cmd, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    # import the *installed* mmseem, as a user would, not the checkout
    env.pop('PYTHONPATH', None)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, (
        f'{" ".join(cmd)} failed ({proc.returncode}):\n'
        f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    if shutil.which('mim') is None:
        pytest.fail('`mim` is not on PATH: pip install openmim')
    if not (_installed_mim_dir() / 'configs').is_dir():
        pytest.fail('mmseem is not installed regularly (no mmseem/.mim): '
                    'run `pip install --no-build-isolation --no-deps .`')
    ws = tmp_path_factory.mktemp('mim_ws')
    from mmseem.datasets.synthetic import generate_synthetic_coco
    generate_synthetic_coco(
        ws / 'data' / 'synthetic', num_train=6, num_val=3, image_size=96,
        seed=0)
    return ws


@pytest.fixture(scope='module')
def trained(workspace):
    out = _run([
        'mim', 'train', 'mmseem', CONFIG_NAME, '--work-dir', 'wd',
        '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'param_scheduler.0.end=2',
        'default_hooks.logger.interval=1'
    ], cwd=workspace)
    return workspace, out


def test_mim_train_two_iterations_and_evaluate(trained):
    ws, out = trained
    wd = ws / 'wd'
    assert (wd / 'iter_2.pth').is_file(), out[-3000:]
    scalars = list(wd.glob('*/vis_data/scalars.json'))
    assert scalars, 'no scalars.json written'
    records = [json.loads(line) for line in scalars[0].read_text().split(
        '\n') if line.strip()]
    losses = [r['loss'] for r in records if 'loss' in r]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    metrics = [r for r in records if 'coco_panoptic/PQ' in r]
    assert metrics, f'no evaluation metrics logged: {records}'
    m = metrics[-1]
    for key in ('coco_panoptic/PQ', 'coco/segm_mAP', 'mIoU'):
        assert key in m and 0.0 <= m[key] <= 100.0


def test_resume_under_weights_only_default(trained):
    ws, _ = trained
    out = _run([
        'mim', 'train', 'mmseem', CONFIG_NAME, '--work-dir', 'wd',
        '--resume', '--cfg-options', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=3',
        'param_scheduler.0.end=2'
    ], cwd=ws)
    assert 'resumed' in out.lower() or 'Load checkpoint' in out
    ckpt = torch.load(ws / 'wd' / 'iter_3.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 3


def test_mim_test_and_init_model(trained):
    ws, _ = trained
    out = _run([
        'mim', 'test', 'mmseem', CONFIG_NAME, '--checkpoint',
        str(ws / 'wd' / 'iter_2.pth'), '--work-dir', 'wd_test'
    ], cwd=ws)
    assert 'coco_panoptic/PQ' in out

    # the baseline is an mmdet model: mmdet's API loads it (SEEM configs
    # are loaded with mmseg.apis.init_model, see tests/test_apis)
    code = (
        'from mmdet.apis import init_detector;'
        'from mim.utils import get_installed_path;'
        'import os.path as osp;'
        "cfg = osp.join(get_installed_path('mmseem'), '.mim', 'configs', "
        f"'baselines', '{CONFIG_NAME}');"
        "m = init_detector(cfg, 'wd/iter_2.pth', device='cpu');"
        "print('CLASSES', len(m.dataset_meta['classes']))")
    out = _run([sys.executable, '-c', code], cwd=ws)
    assert 'CLASSES 8' in out
