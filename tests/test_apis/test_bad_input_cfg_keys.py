"""A misspelt key in SEEM's test_cfg / train_cfg is an error naming the
valid keys; the valid key lists cover every key the code reads."""
import copy
import re
from pathlib import Path

import pytest
from mmengine.config import Config

from mmseem.utils.cfg_keys import (SEEM_TEST_CFG_KEYS, SEEM_TRAIN_CFG_KEYS,
                                   UnknownKeyError, check_cfg_keys)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('field, bad, hint', [
    ('test_cfg', dict(max_per_imgae=10), "did you mean 'max_per_image'"),
    ('test_cfg', dict(taks='semantic'), "did you mean 'task'"),
    ('train_cfg', dict(criterio=dict(type='SEEMLoss')),
     "did you mean 'criterion'"),
])
def test_misspelt_key_is_an_error(tiny_cfg, field, bad, hint):
    from mmseem.registry import MODELS
    cfg = copy.deepcopy(tiny_cfg.model)
    cfg[field] = dict(cfg.get(field) or {}, **bad)
    with pytest.raises(KeyError) as info:
        MODELS.build(cfg)
    msg = str(info.value)
    assert f'model.{field}' in msg and hint in msg
    assert 'valid keys' in msg and repr(next(iter(bad))) in msg


def test_check_cfg_keys_unit():
    check_cfg_keys(None, ['a'])
    check_cfg_keys(dict(a=1), ['a'])
    with pytest.raises(UnknownKeyError, match=r"'zzz'; valid keys: \['a'\]"):
        check_cfg_keys(dict(zzz=1), ['a'], 'x')
    with pytest.raises(ValueError):  # also a ValueError
        check_cfg_keys(dict(zzz=1), ['a'])
    with pytest.raises(TypeError, match='must be a dict'):
        check_cfg_keys(['a'], ['a'], 'model.test_cfg')


def _read_keys(pattern: str):
    keys = set()
    for path in (REPO / 'mmseem' / 'models').rglob('*.py'):
        text = path.read_text()
        keys |= set(re.findall(pattern + r"""(?:\.get\(|\[)'(\w+)'""", text))
    return keys


def test_valid_keys_cover_the_code():
    read = _read_keys(r'test_cfg')
    assert read, 'no test_cfg reads found: the pattern is stale'
    assert read <= set(SEEM_TEST_CFG_KEYS), read - set(SEEM_TEST_CFG_KEYS)
    from mmseem.models.segmentors.seem import DEFAULT_TEST_CFG
    assert set(DEFAULT_TEST_CFG) <= set(SEEM_TEST_CFG_KEYS)
    assert _read_keys(r'train_cfg') <= set(SEEM_TRAIN_CFG_KEYS)


def test_every_shipped_seem_config_passes():
    checked = 0
    for path in sorted((REPO / 'configs').rglob('*.py')):
        if '_base_' in path.parts:
            continue
        model = Config.fromfile(str(path)).get('model')
        if not model or model.get('type') != 'SEEM':
            continue
        check_cfg_keys(model.get('test_cfg'), SEEM_TEST_CFG_KEYS, str(path))
        check_cfg_keys(model.get('train_cfg'), SEEM_TRAIN_CFG_KEYS,
                       str(path))
        checked += 1
    assert checked >= 10
