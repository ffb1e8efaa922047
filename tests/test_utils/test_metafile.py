"""model-index.yml and the metafiles: parse, point at real configs, carry
only published numbers with their source, and `mim search` lists SEEM."""
import os
import os.path as osp

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEEM_README = ('https://github.com/UX-Decoder/'
               'Segment-Everything-Everywhere-All-At-Once/blob/v1.0/README.md')


def _metafiles():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    return [osp.join(ROOT, p) for p in index['Import']]


def _models():
    models = []
    for path in _metafiles():
        with open(path) as f:
            models += yaml.safe_load(f)['Models']
    return models


def test_index_imports_both_metafiles():
    names = [osp.relpath(p, ROOT) for p in _metafiles()]
    assert names == ['configs/seem/metafile.yml',
                     'configs/baselines/metafile.yml']
    for p in _metafiles():
        assert osp.isfile(p), p


def test_every_config_listed_and_exists():
    models = _models()
    listed = {m['Config'] for m in models}
    for m in models:
        assert osp.isfile(osp.join(ROOT, m['Config'])), m['Config']
        assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
    for folder in ('configs/seem', 'configs/baselines'):
        for name in sorted(os.listdir(osp.join(ROOT, folder))):
            if name.endswith('.py'):
                assert f'{folder}/{name}' in listed, name
    assert len({m['Name'] for m in models}) == len(models)


def test_published_numbers_cite_their_source():
    """Every number comes from SEEM's README (cited in the metafile header)
    for a model converted from an official checkpoint."""
    for path in _metafiles():
        text = open(path).read()
        with open(path) as f:
            models = yaml.safe_load(f)['Models']
        if any(m['Results'] for m in models):
            assert SEEM_README.replace(
                '/blob/v1.0/README.md', '') in text.replace('\n#  ', '')
        for m in models:
            for r in m['Results']:
                assert r['Task'] and r['Dataset'] and r['Metrics']
                assert m['Converted From']['Weights'].startswith(
                    'https://huggingface.co/xdecoder/')
    seem = {m['Name']: m for m in _models()}
    pq = seem['seem_focalt-v1_coco-panoptic']['Results'][0]['Metrics']
    assert pq == {'PQ': 50.8}  # README v1.0, SEEM_v1 Focal-T row


def test_mim_search_lists_seem(monkeypatch):
    """`mim search mmseem` code path (mim.get_model_info, which the CLI
    prints), pointed at this checkout's model-index.yml instead of the
    installed copy; offline (local metadata)."""
    pytest.importorskip('mim')
    from mim.commands import search
    monkeypatch.setattr(search, 'is_installed', lambda name: True)
    monkeypatch.setattr(search, 'get_installed_path', lambda name: ROOT)
    df = search.get_model_info('mmseem')
    names = set(df.index)
    assert {m['Name'] for m in _models()} == names
    row = df.loc['seem_focalt-v1_coco-panoptic']
    assert row['coco/pq'] == 50.8
    assert row['config'] == 'configs/seem/seem_focalt-v1_coco-panoptic.py'
    assert df.loc['seem_focalt-v1_refcocog-umd']['refcocog/ciou'] \
        == 58.5
    # the CLI's filter: SEEM models by name
    seem = search.filter_by_models(df, ['seem'])
    assert 'seem_focall-v1_coco-panoptic' in set(seem.index)
