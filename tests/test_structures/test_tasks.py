"""The task vocabulary: one set of names from configs to the decoder."""
import pytest
import torch
from mmdet.structures import DetDataSample

from mmseem.structures import Task


def test_parse_names_and_enum():
    assert Task.parse('panoptic') is Task.PANOPTIC
    assert Task.parse(Task.REFIMG) is Task.REFIMG
    assert Task.INTERACTIVE == 'interactive'  # str enum: configs keep strings
    assert str(Task.REFERRING) == 'referring'
    assert Task.SEMANTIC.is_generic and not Task.REFERRING.is_generic


@pytest.mark.parametrize('bad', ['seg', 'Panoptic', 'grounding_eval', '',
                                 None, 3])
def test_unknown_task_raises_with_the_valid_names(bad):
    with pytest.raises(ValueError, match="not a SEEM task.*'panoptic'"):
        Task.parse(bad, 'test_cfg.task')


def _tiny_seem(**test_cfg):
    from pathlib import Path

    from mmengine.config import Config

    import mmseem.models  # noqa: F401
    from mmseem.registry import MODELS
    cfg = Config.fromfile(
        str(Path(__file__).resolve().parents[2] / 'configs' / 'seem' /
            'seem_tiny_synthetic-panoptic.py'))
    cfg.model.test_cfg.update(test_cfg)
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def test_unknown_test_cfg_task_raises():
    with pytest.raises(ValueError, match='test_cfg.task'):
        _tiny_seem(task='segmentation')


def test_a_sample_carries_its_own_task():
    model = _tiny_seem()
    model.set_vocabulary(['circle', 'square'], ['sky'])

    def sample(task=None):
        ds = DetDataSample(metainfo=dict(img_shape=(64, 64),
                                         ori_shape=(64, 64)))
        if task is not None:
            ds.set_metainfo(dict(task=task))
        return ds

    img = torch.randint(0, 256, (3, 64, 64)).float()
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample('semantic')]), False)
    with torch.no_grad():
        res = model.predict(data['inputs'], data['data_samples'])[0]
    assert 'pred_sem_seg' in res and 'pred_panoptic_seg' not in res
    assert model._task_of([sample()]) is Task.PANOPTIC  # test_cfg default
    with pytest.raises(ValueError, match='not a SEEM task'):
        model._task_of([sample('panoptik')])
    with pytest.raises(ValueError, match='different tasks'):
        model._task_of([sample('semantic'), sample('instance')])
