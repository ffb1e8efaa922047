import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'

# never let a test reach the network (tokenizers, weights, data)
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real sample data not found at {SHARED_DATA} '
                    '(only present next to the team checkout)')
    return SHARED_DATA
