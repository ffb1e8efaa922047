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
             metrics={'coco_panoptic/PQ': 40.0, 'coco/segm_mAP': 30.0,
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
        'configs/baselines/mask2former_r18_8xb2-2k_synthetic.py',
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
