"""mmseg.apis (init_model, inference_model, show_result_pyplot) and mmdet's
DetLocalVisualizer on the tiny SEEM config and a random-weight checkpoint."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def loaded(tiny_cfg, tiny_checkpoint):
    from mmseg.apis import init_model
    return init_model(tiny_cfg.copy(), tiny_checkpoint, device='cpu')


@pytest.fixture(scope='module')
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('img') / 'img.png'
    img = np.random.RandomState(0).randint(0, 256, (70, 100, 3), np.uint8)
    assert cv2.imwrite(str(path), img)
    return str(path)


def test_init_model_sets_vocabulary(loaded):
    meta = loaded.dataset_meta
    assert meta['thing_classes'][0] == 'circle'
    things, stuff = loaded.get_vocabulary()
    assert things == list(meta['thing_classes'])
    assert stuff == list(meta['stuff_classes'])


def test_inference_model_on_file(loaded, image_file):
    from mmseg.apis import inference_model
    res = inference_model(loaded, image_file)
    num = len(loaded.dataset_meta['classes'])
    sem = res.pred_sem_seg.data
    assert sem.shape == (1, 70, 100)
    assert int(sem.max()) < num
    pan = res.pred_panoptic_seg.sem_seg
    assert pan.shape == (1, 70, 100)
    # mmdet's panoptic ids: label + id * INSTANCE_OFFSET, void = num
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    assert ((pan % INSTANCE_OFFSET) <= num).all()
    inst = res.pred_instances
    assert inst.masks.shape[1:] == (70, 100)
    assert len(inst.labels) == len(inst.scores) == len(inst.masks)


def test_show_result_pyplot_and_det_visualizer(loaded, image_file,
                                               tmp_path):
    from mmseg.apis import inference_model, show_result_pyplot
    res = inference_model(loaded, image_file)
    out = tmp_path / 'seg.png'
    vis = show_result_pyplot(loaded, image_file, res, show=False,
                             draw_gt=False, out_file=str(out))
    assert vis.shape == (70, 100, 3)
    assert out.is_file() and cv2.imread(str(out)).shape == (70, 100, 3)

    from mmdet.structures import DetDataSample
    from mmdet.visualization import DetLocalVisualizer
    vis = DetLocalVisualizer(name='test_seem_apis_det')
    vis.dataset_meta = loaded.dataset_meta
    sample = DetDataSample(pred_instances=res.pred_instances.cpu())
    out2 = tmp_path / 'det.png'
    vis.add_datasample('x', cv2.imread(image_file)[..., ::-1], sample,
                       draw_gt=False, pred_score_thr=0.0,
                       out_file=str(out2))
    assert cv2.imread(str(out2)).shape == (70, 100, 3)


_SCRIPT = r'''
import sys
import numpy as np
from mmengine.config import Config
from mmseg.apis import init_model, inference_model
cfg = Config.fromfile(sys.argv[1])  # imports mmseem (custom_imports)
from mmseem.registry import TRANSFORMS
try:
    ok = TRANSFORMS.get('LoadImageFromNDArray') is not None
except Exception:
    ok = False
if not ok:
    print('NDARRAY_UNRESOLVED')
    sys.exit(0)
model = init_model(cfg, sys.argv[2], device='cpu')
img = np.random.RandomState(0).randint(0, 256, (40, 50, 3), np.uint8)
res = inference_model(model, img)
print('SHAPE', tuple(res.pred_sem_seg.data.shape))
'''


def test_inference_model_on_array_fresh_process(tiny_checkpoint):
    """A user's session: only ``Config.fromfile`` imports mmseem."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cfg = REPO / 'configs/seem/seem_tiny_synthetic-panoptic.py'
    proc = subprocess.run(
        [sys.executable, '-c', _SCRIPT, str(cfg), tiny_checkpoint],
        cwd=str(REPO), env=env, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'NDARRAY_UNRESOLVED' not in proc.stdout, (
        "mmseg's LoadImageFromNDArray (used by inference_model for arrays) "
        'must resolve under the mmseem scope (mmseem.registry.TRANSFORMS '
        "locations include 'mmseg.datasets')")
    assert 'SHAPE (1, 40, 50)' in proc.stdout, proc.stdout
