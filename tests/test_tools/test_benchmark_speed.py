"""Smoke tests of tools/analysis_tools/benchmark_speed.py on tiny models.

They check the structure of the printed table and of the JSON results
(rows, columns, derived share / ratio), never the timings.
"""
import importlib.util
import json
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_speed.py')
TINY_SEEM = osp.join(ROOT, 'configs', 'seem',
                     'seem_tiny_synthetic-panoptic.py')
TINY_M2F = osp.join(ROOT, 'configs', 'baselines',
                    'mask2former_r18_8xb2-2k_synthetic.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_speed', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def table_rows(text):
    """Markdown table lines of the printed output -> list of cell lists."""
    lines = [ln for ln in text.splitlines() if ln.startswith('|')]
    return [[c.strip() for c in ln.strip('|').split('|')] for ln in lines]


def test_smoke_table_and_json(bench, tmp_path, capsys, keep_threads):
    out = tmp_path / 'results.json'
    result = bench.main([
        '--configs', TINY_SEEM, '--m2f-config', TINY_M2F, '--sizes', '64',
        '--device', 'cpu', '--warmup', '1', '--repeat', '1', '--threads', '1',
        '--vocab-classes', '6', '--clicks', '2', '--out',
        str(out)
    ])
    printed = capsys.readouterr().out
    assert 'torch ' + torch.__version__ in printed
    assert 'cores:' in printed and 'CPU:' in printed

    rows = table_rows(printed)
    header, sep, body = rows[0], rows[1], rows[2:]
    assert header == list(bench.COLUMNS)
    assert all(set(c) == {'-'} for c in sep)
    assert all(len(r) == len(header) for r in body)
    seem, m2f = 'seem_tiny_synthetic-panoptic', \
        'mask2former_r18_8xb2-2k_synthetic'
    got = {(r[0], r[1], r[2], r[3].split(' (')[0]) for r in body}
    want = {('cpu', '64', seem, m)
            for m in ('full forward', 'features', 'interactive round',
                      'interactive share of full', 'vocabulary embedding',
                      'ratio SEEM / Mask2Former')}
    want.add(('cpu', '64', m2f, 'full forward'))
    assert got == want
    for r in body:
        if r[3].startswith(
            ('full forward', 'features', 'interactive round', 'vocabulary')):
            assert r[4].endswith(' ms') and float(r[4][:-3]) > 0
    share = next(r for r in body if r[3].startswith('interactive share'))
    assert share[4].endswith(' %') and share[7].startswith('<= 5 %: ')
    ratio = next(r for r in body if r[3].startswith('ratio'))
    assert ratio[4].endswith(' x') and m2f in ratio[3]
    assert '1 prompt x 2 clicks' in printed
    assert 'peak mem on cpu' in printed

    # the JSON holds the same rows with every time, and consistent derived
    # values
    with open(out) as f:
        saved = json.load(f)
    assert saved['columns'] == list(bench.COLUMNS)
    assert saved['table'] == result['table']
    assert saved['settings']['threads'] == 1
    assert saved['machine']['cores'] >= 1
    res = {(r['model'], r['measurement']): r for r in saved['results']}
    assert len(res) == len(saved['results']) == 7
    full = res[(seem, bench.FULL)]
    rnd = res[(seem, bench.ROUND)]
    base = res[(m2f, bench.FULL)]
    for r in (full, rnd, base, res[(seem, bench.FEATS)]):
        assert len(r['times_ms']) == 1
        assert r['median_ms'] == r['min_ms'] == r['times_ms'][0] > 0
        assert r['peak_mem_mib'] >= 0
    assert res[(seem, bench.SHARE)]['value'] == pytest.approx(
        100 * rnd['median_ms'] / full['median_ms'])
    assert res[(seem, bench.RATIO)]['value'] == pytest.approx(
        full['median_ms'] / base['median_ms'])
    assert base['baseline'] is True
    assert res[(seem, bench.VOCAB)]['num_classes'] == 6
    # the vocabulary is cached: the second lookup skips the text encoder
    vocab = res[(seem, bench.VOCAB)]
    assert vocab['cached_lookup_ms'] < vocab['median_ms']


def test_no_m2f_has_no_ratio(bench, capsys, keep_threads):
    result = bench.main([
        '--configs', TINY_SEEM, '--no-m2f', '--sizes', '64', '--device', 'cpu',
        '--warmup', '0', '--repeat', '2', '--threads', '1', '--vocab-classes',
        '2'
    ])
    names = [r['measurement'] for r in result['results']]
    assert bench.RATIO not in names and names.count(bench.FULL) == 1
    assert result['settings']['m2f_config'] is None
    full = next(r for r in result['results'] if r['measurement'] == bench.FULL)
    assert len(full['times_ms']) == 2
    assert full['median_ms'] == pytest.approx(sum(full['times_ms']) /
                                              2)  # median of two values
    capsys.readouterr()


@pytest.mark.parametrize('argv', [
    ['--repeat', '0'],
    ['--sizes', '16'],
    ['--configs', 'no/such/config.py'],
    ['--device', 'tpu'],
    ['--vocab-classes', '0'],
])
def test_bad_arguments(bench, argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv + ['--no-m2f'])
    assert 'error' in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only check')
def test_cuda_unavailable_is_a_clear_error(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(['--device', 'cuda', '--no-m2f'])
    assert 'CUDA is not available' in capsys.readouterr().err


def test_disable_pretrained_on_mmdet_config(bench):
    from mmengine.config import Config
    cfg = Config.fromfile(bench.default_m2f_config()).model
    assert cfg.backbone.init_cfg['type'] == 'Pretrained'
    model_cfg = bench.disable_pretrained(cfg)
    assert model_cfg.backbone.init_cfg is None
    nested = bench.disable_pretrained(
        dict(a=[
            dict(init_cfg=[
                dict(type='Pretrained', checkpoint='x'),
                dict(type='Normal')
            ])
        ],
             pretrained='y'))
    assert nested == dict(a=[dict(init_cfg=[dict(type='Normal')])],
                          pretrained=None)


def test_cpu_peak_memory_sees_an_allocation(bench):
    mem = bench.CpuPeakMemory()
    mem.start()
    x = torch.ones(16, 2**20)  # 64 MiB, written so it is resident
    peak = mem.stop()
    del x
    assert 48 <= peak < 1024, mem.method
