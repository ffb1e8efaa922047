"""SEEMInferencer: bad arguments name the problem; visualisations never
overwrite a file (same file names, a second run into the same out_dir)."""
import os

import cv2
import numpy as np
import pytest

from mmseem.apis import SEEMInferencer

H, W = 70, 100


@pytest.fixture(scope='module')
def inferencer(tiny_cfg, tiny_checkpoint):
    return SEEMInferencer(tiny_cfg.copy(), tiny_checkpoint, device='cpu')


@pytest.fixture(scope='module')
def two_dirs(tmp_path_factory):
    """Two different images, both named ``scene.png``, in two folders."""
    root = tmp_path_factory.mktemp('two')
    paths = []
    for i in range(2):
        img = np.full((H, W, 3), 60 + 120 * i, np.uint8)
        img[10:40, 20:60] = 255 - img[10:40, 20:60]
        (root / f'd{i}').mkdir()
        path = root / f'd{i}' / 'scene.png'
        cv2.imwrite(str(path), img)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize('kwargs, err, match', [
    (dict(task='referring', texts=123), TypeError,
     'texts must be a sentence.*got int 123'),
    (dict(task='referring', texts=['a dog', None]), TypeError,
     r'texts\[1\] is NoneType'),
    (dict(task='referring', texts=[['a dog'], [5]]), TypeError,
     r'texts\[1\]\[0\] is int'),
    (dict(task='interactive', prompts=dict(points=[])), ValueError,
     'points is empty'),
    (dict(task='semantic', vocabulary=['dog', 3]), TypeError,
     r'thing_classes\[1\] is int 3'),
    (dict(task='semantic', vocabulary=dict(thing_clases=['dog'])), KeyError,
     "'thing_clases'"),
])
def test_bad_call_arguments(inferencer, two_dirs, kwargs, err, match):
    saved = inferencer.model._vocabulary
    with pytest.raises(err, match=match):
        inferencer(two_dirs[0], **kwargs)
    assert inferencer.model._vocabulary is saved


def test_thin_image(inferencer):
    with pytest.raises(ValueError, match='1 x 5000 .*too thin'):
        inferencer(np.zeros((1, 5000, 3), np.uint8), task='semantic')


def test_missing_config_and_weights(tmp_path, tiny_cfg):
    with pytest.raises(FileNotFoundError, match='no_such_cfg.py.*does not'):
        SEEMInferencer(str(tmp_path / 'no_such_cfg.py'))
    with pytest.raises(FileNotFoundError, match='no_such.pth.*does not'):
        SEEMInferencer(tiny_cfg.copy(), str(tmp_path / 'no_such.pth'))


def test_vis_dir_is_a_file(inferencer, two_dirs, tmp_path):
    (tmp_path / 'vis').write_text('user data')
    with pytest.raises(NotADirectoryError, match='not a folder'):
        inferencer(two_dirs[0], task='semantic', out_dir=str(tmp_path))
    assert (tmp_path / 'vis').read_text() == 'user data'


# ----------------------------------------------------------------- positive
def test_str_vocabulary_is_one_class(inferencer, two_dirs):
    saved = inferencer.model._vocabulary
    try:
        out = inferencer(two_dirs[0], task='semantic', vocabulary='zebra')
        assert out['predictions'][0]['class_names'] == ['zebra']
    finally:
        inferencer.model._vocabulary = saved


def test_no_overwrite(inferencer, two_dirs, tmp_path):
    out = inferencer(two_dirs, task='semantic', out_dir=str(tmp_path))
    vis = tmp_path / 'vis'
    files = out['vis_files']
    assert [os.path.basename(f) for f in files] == ['scene.png',
                                                   'scene_1.png']
    first = [cv2.imread(f) for f in files]
    assert not np.array_equal(first[0], first[1])  # two different images
    # a second run into the same out_dir adds files, changes none
    again = inferencer(two_dirs[::-1], task='semantic', out_dir=str(tmp_path))
    assert [os.path.basename(f) for f in again['vis_files']] == [
        'scene_2.png', 'scene_3.png'
    ]
    for f, img in zip(files, first):
        assert np.array_equal(cv2.imread(f), img)
    np.testing.assert_array_equal(cv2.imread(again['vis_files'][1]),
                                  first[0])
    # arrays: numbered per inferencer, so a new one reuses the numbers:
    # never overwritten either
    arr = cv2.imread(two_dirs[0])[..., ::-1].copy()
    names = []
    for _ in range(2):
        fresh = SEEMInferencer(inferencer.cfg, device='cpu')
        fresh.model.dataset_meta = inferencer.model.dataset_meta
        got = fresh(arr, task='semantic', out_dir=str(tmp_path))
        names.append(os.path.basename(got['vis_files'][0]))
    assert names == ['00000000.png', '00000000_1.png']
    assert sorted(os.listdir(vis)) == [
        '00000000.png', '00000000_1.png', 'scene.png', 'scene_1.png',
        'scene_2.png', 'scene_3.png'
    ]
