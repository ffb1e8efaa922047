"""The stack is sane and misconfigurations produce actionable messages."""
from importlib import metadata

import pytest


def test_import_and_versions():
    import mmcv
    import mmdet
    import mmengine
    import mmseg
    import torch

    import mmseem
    assert mmseem.__version__
    assert mmcv.__version__ == '2.1.0'
    assert mmengine.__version__ == '0.10.7'
    assert mmdet.__version__ == '3.3.0'
    assert mmseg.__version__ == '1.2.2'
    assert torch.__version__.startswith('2.13')


def test_mmcv_ops_compiled_and_run():
    import torch
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_environment_check_passes_strict():
    from mmseem.utils import check_environment
    check_environment(strict_torch=True)


def test_wrong_setuptools_message(monkeypatch):
    from mmseem.utils import env_check
    monkeypatch.setattr(env_check, '_version', lambda d: '82.0.0')
    with pytest.raises(ImportError, match=r'setuptools>=70,<82'):
        env_check.check_setuptools()


def test_new_mmcv_message(monkeypatch):
    import mmcv

    from mmseem.utils import env_check
    monkeypatch.setattr(mmcv, '__version__', '2.2.0')
    with pytest.raises(ImportError, match='mmcv==2.1.0'):
        env_check.check_mmcv()


def test_mmcv_without_ops_message(monkeypatch):
    import builtins

    from mmseem.utils import env_check
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == 'mmcv._ext' or (name == 'mmcv.ops'):
            raise ImportError('libmmcv ops missing')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', fake_import)
    with pytest.raises(ImportError, match='without its compiled ops'):
        env_check.check_mmcv()


def test_torch_moved_message(monkeypatch):
    import torch

    from mmseem.utils import env_check
    monkeypatch.setattr(torch, '__version__', '2.15.0')
    with pytest.raises(ImportError, match='torch==2.13.0'):
        env_check.check_torch()


def test_setuptools_in_range():
    v = metadata.version('setuptools')
    major = int(v.split('.')[0])
    assert 70 <= major < 82
