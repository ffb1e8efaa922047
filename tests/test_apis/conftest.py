"""Shared tiny SEEM for the API tests (random weights, 32-d)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

TINY_CFG = Path(__file__).resolve().parents[2] / 'configs' / 'seem' / \
    'seem_tiny_synthetic-panoptic.py'
THINGS = ['circle', 'square', 'triangle']
STUFF = ['sky', 'grass']


@pytest.fixture(scope='session')
def tiny_cfg():
    return Config.fromfile(str(TINY_CFG))


@pytest.fixture(scope='session')
def tiny_model(tiny_cfg):
    import mmseem.models  # noqa: F401
    from mmseem.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg.model).eval()
    model.cfg = tiny_cfg
    return model


@pytest.fixture(scope='session')
def tiny_checkpoint(tiny_model, tmp_path_factory):
    """A random-weight checkpoint whose meta carries the vocabulary."""
    from mmseem.datasets.synthetic import SYNTHETIC_METAINFO
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_seem.pth'
    meta = dict(dataset_meta={k: list(v)
                              for k, v in SYNTHETIC_METAINFO.items()})
    torch.save(dict(state_dict=tiny_model.state_dict(), meta=meta), path)
    return str(path)


@pytest.fixture(scope='session')
def make_image():
    """``make_image(h, w, seed)`` -> uint8 RGB [h, w, 3] (default 70 x 100,
    not a multiple of 32, so padding and cropping are exercised)."""

    def make(h=70, w=100, seed=0):
        return np.random.RandomState(seed).randint(
            0, 256, (h, w, 3), dtype=np.uint8)

    return make
