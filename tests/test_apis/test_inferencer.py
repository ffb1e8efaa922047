"""SEEMInferencer on the tiny config: every task, outputs, visualisations."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmseem.apis import SEEMInferencer
from mmseem.registry import INFERENCERS

REPO = Path(__file__).resolve().parents[2]
H, W = 70, 100


@pytest.fixture(scope='module')
def inferencer(tiny_cfg, tiny_checkpoint):
    return SEEMInferencer(tiny_cfg.copy(), tiny_checkpoint, device='cpu')


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    img = np.random.RandomState(0).randint(0, 256, (H, W, 3), np.uint8)
    path = tmp_path_factory.mktemp('inf') / 'scene.png'
    cv2.imwrite(str(path), img[..., ::-1])
    return img, str(path)


def test_registered():
    assert INFERENCERS.get('SEEMInferencer') is SEEMInferencer
    assert INFERENCERS.get('seem') is SEEMInferencer


def test_vocabulary_from_checkpoint(inferencer):
    things, stuff = inferencer.model.get_vocabulary()
    assert things[0] == 'circle' and stuff[0] == 'sky'


@pytest.mark.parametrize('task,kw,keys', [
    ('panoptic', {}, {'panoptic_seg', 'sem_seg', 'masks'}),
    ('semantic', {}, {'sem_seg'}),
    ('instance', {}, {'masks', 'labels', 'scores', 'bboxes'}),
    ('referring', dict(texts=['the circle', 'the sky']), {'masks'}),
    ('interactive', dict(prompts=dict(points=[[[30., 20.]], [[80., 60.]]]),
                         texts='circle'), {'masks', 'labels'}),
])
def test_tasks(inferencer, image, tmp_path, task, kw, keys):
    img, path = image
    out = inferencer(path, task=task, out_dir=str(tmp_path), **kw)
    pred = out['predictions'][0]
    assert pred['task'] == task and keys <= set(pred)
    for k in ('sem_seg', 'panoptic_seg'):
        if k in pred:
            assert pred[k].shape == (H, W)
    if 'masks' in pred:
        assert pred['masks'].shape[1:] == (H, W)
        assert pred['masks'].dtype == bool
    if task == 'referring':
        assert pred['label_names'] == ['the circle', 'the sky']
    if task == 'interactive':
        assert len(pred['masks']) == 2
    drawn = cv2.imread(str(tmp_path / 'vis' / 'scene.png'))
    assert drawn.shape == (H, W, 3)


def test_arrays_batch_and_per_image_prompts(inferencer, image):
    img, path = image
    small = img[:40, :60]
    out = inferencer([img, small], task='interactive', batch_size=2,
                     prompts=[dict(boxes=[[5., 5., 50., 40.]]),
                              dict(points=[[[10., 10.]]])],
                     return_vis=True)
    p0, p1 = out['predictions']
    assert p0['masks'].shape == (1, H, W)
    assert p1['masks'].shape == (1, 40, 60)
    assert [v.shape for v in out['visualization']] == [(H, W, 3),
                                                       (40, 60, 3)]
    # BGR arrays give the same result as the RGB file
    bgr_inf = SEEMInferencer(inferencer.cfg, device='cpu',
                             image_format='BGR')
    bgr_inf.model.load_state_dict(inferencer.model.state_dict())
    bgr_inf.model.set_vocabulary(['circle'])
    inferencer.model.set_vocabulary(['circle'])
    a = bgr_inf(img[..., ::-1].copy(), task='semantic')['predictions'][0]
    b = inferencer(path, task='semantic')['predictions'][0]
    np.testing.assert_array_equal(a['sem_seg'], b['sem_seg'])


def test_vocabulary_argument(inferencer, image):
    out = inferencer(image[1], task='panoptic',
                     vocabulary=dict(thing_classes=['dog'],
                                     stuff_classes=['road']))
    pred = out['predictions'][0]
    assert pred['class_names'] == ['dog', 'road']
    assert set(np.unique(pred['sem_seg']).tolist()) <= {0, 1}


def test_bad_arguments(inferencer, image):
    path = image[1]
    with pytest.raises(ValueError, match='unknown'):
        inferencer(path, task='depth')
    with pytest.raises(ValueError, match='needs texts'):
        inferencer(path, task='referring')
    with pytest.raises(ValueError, match='needs prompts'):
        inferencer(path, task='interactive')
    with pytest.raises(ValueError, match='takes no texts/prompts'):
        inferencer(path, task='semantic', texts='a dog')
    with pytest.raises(ValueError, match='one entry per image'):
        inferencer([path, path], task='interactive',
                   prompts=[dict(points=[[[1., 1.]]])])
    with pytest.raises(ValueError, match='outside the image'):
        inferencer(path, prompts=dict(points=[[[500., 1.]]]))
    with pytest.raises(FileNotFoundError, match='nope.png'):
        inferencer('nope.png', task='semantic')


def test_image_demo_smoke(tmp_path, tiny_checkpoint, image):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = tmp_path / 'demo.png'
    cmd = [
        sys.executable, 'demo/image_demo.py', image[1],
        'configs/seem/seem_tiny_synthetic-panoptic.py', '--checkpoint',
        tiny_checkpoint, '--points', '30,20,1', '10,10,0', '--boxes',
        '40,10,80,50', '--out-file', str(out)
    ]
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'task: interactive' in proc.stdout
    assert 'mask 1:' in proc.stdout
    assert cv2.imread(str(out)).shape == (H, W, 3)
    before = out.read_bytes()
    again = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 2 and 'not overwritten' in again.stderr
    assert out.read_bytes() == before
    bad = subprocess.run(cmd[:4] + ['--points', '500,1,1'], cwd=str(REPO),
                         env=env, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2
    assert 'outside the image' in bad.stderr
