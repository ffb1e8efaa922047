"""DAVISDataset on a synthetic nested layout and the shared car-shadow clip."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseem.datasets.davis import DAVISDataset, read_davis_annotation
from mmseem.registry import DATASETS

CAR_SHADOW = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
    'davis_car_shadow')


def _write_seq(root, seq, n, num_obj, annotate=None):
    os.makedirs(osp.join(root, 'JPEGImages', seq))
    os.makedirs(osp.join(root, 'Annotations', seq))
    for i in range(n):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(
            osp.join(root, 'JPEGImages', seq, f'{i:05d}.jpg'))
        if annotate is None or i in annotate:
            ann = np.zeros((8, 8), np.uint8)
            for k in range(1, num_obj + 1):
                ann[k, :] = k
            ann[7, 7] = 255  # void
            Image.fromarray(ann).save(
                osp.join(root, 'Annotations', seq, f'{i:05d}.png'))


@pytest.fixture
def nested(tmp_path):
    root = str(tmp_path)
    _write_seq(root, 'bear', 3, 1)
    _write_seq(root, 'dogs', 4, 2, annotate={0})  # test-dev style
    return root


def test_nested_layout(nested):
    ds = DATASETS.build(dict(type='DAVISDataset', data_root=nested))
    assert isinstance(ds, DAVISDataset) and len(ds) == 7
    info = ds.get_data_info(4)
    assert info['seq_name'] == 'dogs' and info['frame_idx'] == 1
    assert info['num_frames'] == 4 and info['num_objects'] == 2
    assert info['seg_map_path'] is None
    assert info['ref_seg_map_path'].endswith(osp.join('dogs', '00000.png'))
    assert ds.get_data_info(0)['num_objects'] == 1


def test_sequence_selection_and_per_sequence(nested):
    with open(osp.join(nested, 'val.txt'), 'w') as f:
        f.write('dogs\n')
    ds = DAVISDataset(data_root=nested, ann_file='val.txt')
    assert len(ds) == 4
    ds = DAVISDataset(data_root=nested, sequences=['bear'],
                      per_sequence=True)
    assert len(ds) == 1 and len(ds[0]['img_paths']) == 3
    with pytest.raises(FileNotFoundError, match='cats'):
        DAVISDataset(data_root=nested, sequences=['cats'])


def test_missing_root_says_expected_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match='expected DAVIS layout'):
        DAVISDataset(data_root=str(tmp_path / 'nope'))


@pytest.mark.skipif(
    not osp.isdir(CAR_SHADOW),
    reason='shared DAVIS sample ../shared/data/davis_car_shadow is absent')
def test_car_shadow_flat_layout():
    ds = DAVISDataset(data_root=CAR_SHADOW)
    assert len(ds) == 40
    first, last = ds.get_data_info(0), ds.get_data_info(39)
    assert first['seq_name'] == 'davis_car_shadow'
    assert first['num_frames'] == 40 and first['num_objects'] == 1
    assert last['frame_idx'] == 39 and last['img_path'].endswith('00039.jpg')
    assert last['ref_seg_map_path'] == first['seg_map_path']
    ann = read_davis_annotation(first['seg_map_path'])
    assert ann.shape == (480, 854) and set(np.unique(ann)) == {0, 1}
