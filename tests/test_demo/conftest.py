"""Shared fixtures of the demo tests: a tiny random-weight SEEM, the demo
folder on sys.path, a real photo when ../shared/data is there."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TINY_CFG = REPO / 'configs' / 'seem' / 'seem_tiny_synthetic-panoptic.py'
sys.path.insert(0, str(REPO / 'demo'))


@pytest.fixture(scope='session')
def tiny_cfg_path():
    return str(TINY_CFG)


@pytest.fixture(scope='session')
def demo_model():
    from mmengine.config import Config

    import mmseem.models  # noqa: F401
    from mmseem.registry import MODELS
    cfg = Config.fromfile(str(TINY_CFG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.cfg = cfg
    model.set_vocabulary(['circle', 'square'], ['sky'])
    return model


@pytest.fixture(scope='session')
def photo(shared_data):
    path = shared_data / 'coco_panoptic_sample' / 'sample_data' / \
        'input_images' / '000000439180.jpg'
    if not path.is_file():
        pytest.skip(f'{path} not found')
    return str(path)


@pytest.fixture
def rgb():
    return np.random.RandomState(0).randint(0, 256, (70, 100, 3), np.uint8)
