"""tools/analysis_tools/benchmark_table.py: runs, table and click plot."""
import importlib.util
import json
from collections import OrderedDict

import pytest


@pytest.fixture(scope='module')
def tool(repo_root):
    path = repo_root / 'tools' / 'analysis_tools' / 'benchmark_table.py'
    spec = importlib.util.spec_from_file_location('benchmark_table', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HEADS = ['Method', 'Checkpoint', 'Backbone', 'PQ', 'mAP', 'mIoU', 'cIoU',
         'NoC@85', 'NoC@90', 'J&F']


def _header_cells(table):
    first = table.splitlines()[0]
    return [c.strip().split(' ')[0] for c in first.strip('|').split('|')]


def test_table_and_plot_from_metrics(tool, tmp_path):
    runs = [
        dict(name='SEEM', config='a.py', checkpoint=None, backbone='F-T',
             metrics={'coco_panoptic/PQ': 50.8, 'coco_panoptic/PQ_th': 1.0,
                      'mIoU': 60.7, 'refseg/mIoU': 63.7,
                      'refseg/cIoU': 58.5}),
        dict(name='SEEM', config='b.py', checkpoint=None,
             metrics={'interactive/NoC@85': 3.19, 'interactive/NoC@90': 4.13,
                      'interactive/mIoU@1': 70.0, 'interactive/mIoU@2': 80.0,
                      'interactive/mIoU@3': 85.0, 'vos/seq/J&F': 10.0,
                      'vos/J&F': 62.5}),
        dict(name='Mask2Former', config='c.py', checkpoint='/x/m2f.pth',
             backbone='ResNet-18',
             # mmdet's CocoMetric: AP in [0, 1], shown in %
             metrics={'coco_panoptic/PQ': 40.0, 'coco/segm_mAP': 0.3,
                      'coco/segm_mAP_50': 55.0}),
        dict(name='X-Decoder', config='d.py', checkpoint=None, metrics={},
             error='ValueError: cannot do it'),
    ]
    rows = tool.collect_rows(runs)
    assert list(rows) == ['SEEM', 'Mask2Former', 'X-Decoder']
    table = tool.make_table(rows)
    assert _header_cells(table) == HEADS
    lines = table.splitlines()
    seem = [c.strip() for c in lines[2].strip('|').split('|')]
    assert seem == ['SEEM', 'random init', 'F-T', '50.80', '-', '60.70',
                    '58.50', '3.19', '4.13', '62.50']
    m2f = [c.strip() for c in lines[3].strip('|').split('|')]
    assert m2f == ['Mask2Former', 'm2f.pth', 'ResNet-18', '40.00', '30.00',
                   '-', '-', '-', '-', '-']
    assert 'X-Decoder: failed d.py: ValueError' in table
    png = tmp_path / 'curve.png'
    assert tool.plot_click_curves(rows, str(png))
    assert png.read_bytes()[:4] == b'\x89PNG'
    assert tool.click_curve(rows['SEEM']['metrics']) == [(1, 70.0),
                                                         (2, 80.0),
                                                         (3, 85.0)]
    empty = OrderedDict(M=dict(metrics={}, checkpoints=[], failed=[]))
    assert not tool.plot_click_curves(empty, str(tmp_path / 'none.png'))
    assert (tmp_path / 'none.png').is_file()


def test_parse_runs_errors(tool, repo_root, tmp_path):
    cfg = str(repo_root / 'configs/seem/seem_tiny_synthetic-panoptic.py')
    assert tool.parse_runs([['SEEM', cfg, 'none']])[0]['checkpoint'] is None
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        tool.parse_runs([['SEEM', cfg, str(tmp_path / 'missing.pth')]])
    with pytest.raises(FileNotFoundError, match='config'):
        tool.parse_runs([['SEEM', str(tmp_path / 'nope.py')]])
    with pytest.raises(ValueError, match='NAME CONFIG'):
        tool.parse_runs([['SEEM']])


def test_end_to_end_tiny_seem_and_mask2former(tool, repo_root, tmp_path,
                                              monkeypatch):
    from mmseem.datasets.synthetic import generate_synthetic_coco
    data = tmp_path / 'synthetic'
    generate_synthetic_coco(str(data), num_train=2, num_val=2, image_size=64)
    monkeypatch.chdir(repo_root)
    out = tmp_path / 'table.md'
    table = tool.main([
        '--run', 'SEEM', 'configs/seem/seem_tiny_synthetic-panoptic.py',
        'none', '--run', 'Mask2Former',
        'configs/baselines/mask2former_r18_8xb2-3k_synthetic.py',
        '--data-root', str(data), '--work-dir', str(tmp_path / 'work'),
        '--num-workers', '0', '--out', str(out), '--json',
        str(tmp_path / 'metrics.json'), '--plot', str(tmp_path / 'c.png'),
        '--strict'
    ])
    assert out.read_text().strip() == table.strip()
    assert _header_cells(table) == HEADS
    lines = table.splitlines()
    cells = {
        line.strip('|').split('|')[0].strip():
        [c.strip() for c in line.strip('|').split('|')]
        for line in lines[2:4]
    }
    assert set(cells) == {'SEEM', 'Mask2Former'}
    for row in cells.values():
        assert row[1] == 'random init'
        assert row[3] != '-' and 0 <= float(row[3]) <= 100  # PQ
        assert row[6:] == ['-', '-', '-', '-']  # no such task in the runs
    assert cells['SEEM'][2] == 'FocalNet-test'
    assert cells['Mask2Former'][2] == 'ResNet-18'
    runs = json.loads((tmp_path / 'metrics.json').read_text())
    assert [r['name'] for r in runs] == ['SEEM', 'Mask2Former']
    assert all('coco_panoptic/PQ' in r['metrics'] for r in runs)
    assert (tmp_path / 'c.png').read_bytes()[:4] == b'\x89PNG'


@pytest.fixture(scope='module')
def metrics_table(repo_root):
    path = repo_root / 'tools' / 'analysis_tools' / 'metrics_table.py'
    spec = importlib.util.spec_from_file_location('metrics_table', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_metrics_table_reads_run_default_layout(metrics_table, tmp_path):
    """run_default.sh's work dir: eval/runs.json (benchmark_table --json)
    + eval/visual_referring_<NAME>.json -> one row per model, every SEEM
    task's columns, the targets checked on the SEEM row, table.md."""
    clicks = {f'interactive/mIoU@{k}': 60.0 + k for k in range(1, 21)}
    runs = [
        dict(name='SEEM', config='p.py', metrics={
            'coco_panoptic/PQ': 50.0, 'coco_panoptic/PQ_th': 31.5,
            'coco_panoptic/PQ_st': 90.0, 'coco/segm_mAP': 0.25,
            'mIoU': 70.0}),
        dict(name='SEEM', config='r.py', metrics={
            'refseg/cIoU': 45.0, 'refseg/mIoU': 40.0}),
        dict(name='SEEM', config='i.py', metrics=dict(
            clicks, **{'interactive/NoC@85': 4.5,
                       'interactive/NoC@90': 7.0})),
        dict(name='Mask2Former', config='m.py', metrics={
            'coco_panoptic/PQ': 40.0}),
        dict(name='X-Decoder', config='x.py', metrics={},
             error='RuntimeError: boom'),
    ]
    (tmp_path / 'eval').mkdir()
    (tmp_path / 'eval' / 'runs.json').write_text(json.dumps(runs))
    (tmp_path / 'eval' / 'visual_referring_SEEM.json').write_text(
        json.dumps({'visref/mIoU': 33.3, 'visref/cIoU': 30.0}))
    table = metrics_table.main([str(tmp_path), '--seconds', '1300'])
    lines = table.splitlines()
    heads = [c.strip() for c in lines[0].strip('|').split('|')]
    assert heads[:4] == ['model', 'PQ', 'PQ things', 'PQ stuff']
    for h in ('mask AP', 'ref cIoU', 'NoC@85', 'mIoU@1', 'mIoU@20',
              'visual ref mIoU'):
        assert h in heads
    seem = dict(zip(heads, [c.strip() for c in lines[2].strip('|').split(
        '|')]))
    assert seem['PQ things'] == '31.5' and seem['mask AP'] == '25.0'
    assert seem['mIoU@5'] == '65.0' and seem['visual ref mIoU'] == '33.3'
    m2f = dict(zip(heads, [c.strip() for c in lines[3].strip('|').split(
        '|')]))
    assert m2f['PQ'] == '40.0' and m2f['ref cIoU'] == '-'
    assert 'failed: X-Decoder x.py: RuntimeError: boom' in table
    targets = [x for x in lines if x.startswith('SEEM targets')][0]
    assert 'PQ things >= 30: met' in targets
    assert 'referring cIoU >= 50: MISSED' in targets
    assert 'mIoU@5 >= mIoU@1 + 10: MISSED' in targets  # 65 < 61 + 10
    assert 'NoC@85 <= 5: met' in targets
    assert '21.7 min <= 20: MISSED' in targets
    assert (tmp_path / 'table.md').read_text().strip() == table.strip()
