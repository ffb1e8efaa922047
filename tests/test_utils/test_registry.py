"""The mmseem scope: children of mmseg's registries, mmdet reachable."""
from mmengine.registry import DefaultScope


def test_registries_are_children_of_mmseg():
    from mmseg.registry import DATASETS as SEG_DATASETS
    from mmseg.registry import METRICS as SEG_METRICS
    from mmseg.registry import MODELS as SEG_MODELS

    from mmseem.registry import DATASETS, METRICS, MODELS
    assert MODELS.parent is SEG_MODELS
    assert DATASETS.parent is SEG_DATASETS
    assert METRICS.parent is SEG_METRICS
    assert MODELS.scope == 'mmseem'


def test_register_all_modules_fills_registries():
    from mmseem.registry import DATASETS, METRICS
    from mmseem.utils import register_all_modules
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'mmseem'
    assert 'SyntheticPanopticDataset' in DATASETS.module_dict
    assert 'PanopticSemSegMetric' in METRICS.module_dict


def test_mmseg_and_mmdet_parts_resolve_from_mmseem_scope():
    from mmseem.registry import METRICS, MODELS
    from mmseem.utils import register_all_modules
    register_all_modules()
    # mmseg's by plain name (parent lookup) ...
    assert METRICS.get('IoUMetric').__module__.startswith('mmseg')
    # ... mmdet's with the scope prefix
    assert MODELS.get('mmdet.Mask2Former').__module__.startswith('mmdet')
    assert METRICS.get('mmdet.CocoPanopticMetric').__module__.startswith(
        'mmdet')
