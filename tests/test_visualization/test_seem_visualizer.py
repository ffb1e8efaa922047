"""SEEMVisualizer: prompts drawn where given, masks with labels, sentences,
and mmengine's add_datasample with a SEEM data sample."""
import numpy as np
import pytest
import torch

from mmseem.registry import VISUALIZERS
from mmseem.structures import VisualPrompts
from mmseem.visualization import SEEMVisualizer

H, W = 120, 160


@pytest.fixture
def vis():
    return SEEMVisualizer(name=f'test_vis_{np.random.randint(1e9)}',
                          click_size=10)


@pytest.fixture
def gray():
    return np.full((H, W, 3), 128, np.uint8)


def _changed(a, b):
    return np.abs(a.astype(int) - b.astype(int)).sum(-1) > 0


def test_registered_in_mmseem_scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseem'):
        v = VISUALIZERS.build(dict(type='SEEMVisualizer', name='reg_test'))
    assert isinstance(v, SEEMVisualizer)


def test_click_drawn_near_the_point_only(vis, gray):
    out = vis.draw_prompts(gray, points=[[40, 30]], point_labels=[1])
    assert out.shape == gray.shape and out.dtype == np.uint8
    diff = _changed(out, gray)
    assert diff[25:36, 35:46].any()  # around (x=40, y=30)
    far = diff.copy()
    far[30 - 12:30 + 13, 40 - 12:40 + 13] = False
    assert not far.any()  # nothing far from the click
    assert (gray == 128).all()  # the input is not written


def test_click_polarity_colours(vis, gray):
    pos = vis.draw_prompts(gray, points=[[40, 30]], point_labels=[1])
    neg = vis.draw_prompts(gray, points=[[40, 30]], point_labels=[0])
    ring = (slice(24, 37), slice(34, 47))
    # positive: green dominates; negative: red dominates
    p, n = pos[ring].reshape(-1, 3).astype(int), neg[ring].reshape(
        -1, 3).astype(int)
    assert (p[:, 1] - p[:, 0]).max() > 80
    assert (n[:, 0] - n[:, 1]).max() > 80


def test_box_and_scribble_drawn_on_their_lines(vis, gray):
    out = vis.draw_prompts(gray, boxes=[[20, 20, 100, 80]],
                           scribbles=[[[120, 10], [150, 40]]])
    diff = _changed(out, gray)
    assert diff[20, 40:80].any() and diff[50, 18:23].any()  # box edges
    assert not diff[40:60, 40:80].any()  # box inside untouched
    assert diff[20:30, 125:140].any()  # along the scribble
    assert not diff[100:, :].any()


def test_visual_prompts_drawn_rescaled(vis):
    img = np.zeros((H, W, 3), np.uint8)
    vp = VisualPrompts.build((H // 2, W // 2), points=[[[20., 15.]]])
    out = vis.draw_visual_prompts(img, vp)  # prompts of a half-size image
    diff = _changed(out, img)
    assert diff[25:36, 35:46].any() and not diff[80:, 100:].any()


def test_masks_with_labels(vis, gray):
    masks = np.zeros((2, H, W), bool)
    masks[0, 10:50, 10:60] = True
    masks[1, 70:110, 90:150] = True
    plain = vis.draw_masks(gray, masks, ['x', 'y'])
    diff = _changed(plain, gray)
    assert diff[20:40, 20:50].mean() > 0.9  # masks filled
    assert diff[80:100, 100:140].mean() > 0.5
    assert not diff[60:68, 0:5].any()  # background untouched
    # a longer label writes more text pixels in the label box area
    longer = vis.draw_masks(gray, masks, ['a much longer label', 'y'])
    assert (_changed(longer, plain)).sum() > 20
    # empty masks are skipped, no error
    empty = vis.draw_masks(gray, np.zeros((1, H, W), bool), ['z'])
    assert (empty == gray).all()
    with pytest.raises(ValueError, match='masks must be'):
        vis.draw_masks(gray, np.zeros((1, 10, 10), bool))


def test_sentence_written_top_left(vis, gray):
    out = vis.draw_sentence(gray, 'the dog on the left')
    diff = _changed(out, gray)
    assert diff[:20, :60].mean() > 0.3
    assert not diff[H // 2:, :].any()
    assert (vis.draw_sentence(gray, '') == gray).all()


def test_add_datasample_draws_prompts_and_text(vis, gray, tmp_path):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    sample = DetDataSample(metainfo=dict(ori_shape=(H, W)))
    masks = torch.zeros((1, H, W), dtype=torch.bool)
    masks[0, 60:100, 80:140] = True
    sample.pred_instances = InstanceData(masks=masks,
                                         labels=torch.tensor([-1]),
                                         scores=torch.tensor([0.9]))
    sample.visual_prompts = VisualPrompts.build((H, W),
                                                points=[[[100., 80.]]])
    sample.text = 'the thing'
    vis.dataset_meta = dict(classes=('thing', ))
    out_file = tmp_path / 'vis.png'
    vis.add_datasample('s', gray, sample, draw_gt=False,
                       out_file=str(out_file))
    drawn = vis.get_image()
    assert out_file.is_file() and drawn.shape == gray.shape
    diff = _changed(drawn, gray)
    assert diff[70:90, 90:110].all()  # mask + click
    assert diff[:15, :40].any()  # sentence
    # the click is drawn on top: green dominates at its centre ring
    ring = drawn[74:87, 94:107].reshape(-1, 3).astype(int)
    assert (ring[:, 1] - ring[:, 0]).max() > 80


def test_add_datasample_seem_panoptic_sample(vis, gray):
    """SEEM's panoptic samples carry panoptic + mmseg semantic (``data``) +
    instances; the panoptic map is drawn, an all-void map draws nothing."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import PixelData
    vis.dataset_meta = dict(classes=('a', 'b', 'sky'))
    pan = torch.full((1, H, W), 3)  # void
    pan[0, 20:60, 20:60] = 0 + 1000  # 'a', instance 1
    pan[0, 80:, :] = 2  # 'sky'
    sample = DetDataSample(metainfo=dict(ori_shape=(H, W)))
    sample.pred_panoptic_seg = PixelData(sem_seg=pan)
    sample.pred_sem_seg = PixelData(data=torch.zeros((1, H, W)).long())
    sample.gt_sem_seg = PixelData(data=torch.full((1, H, W), 2).long())
    vis.add_datasample('p', gray, sample, out_file=None)
    drawn = vis.get_image()
    assert drawn.shape == (H, 2 * W, 3)  # GT | prediction
    pred = drawn[:, W:]
    diff = _changed(pred, gray)
    assert diff[30:50, 30:50].all() and diff[90:, 10:150].mean() > 0.9
    assert not diff[65:75, 100:150].any()  # void stays untouched
    sample.pred_panoptic_seg = PixelData(sem_seg=torch.full((1, H, W), 3))
    vis.add_datasample('p', gray, sample, draw_gt=False, out_file=None)
    assert (vis.get_image() == gray).all()


def test_inferencer_draws_the_click(tmp_path):
    from pathlib import Path

    from mmseem.apis import SEEMInferencer
    cfg = Path(__file__).resolve().parents[2] / 'configs' / 'seem' / \
        'seem_tiny_synthetic-panoptic.py'
    torch.manual_seed(0)
    inferencer = SEEMInferencer(str(cfg), device='cpu')
    assert isinstance(inferencer.visualizer, SEEMVisualizer)
    img = np.full((H, W, 3), 128, np.uint8)
    out = inferencer(img, prompts=dict(points=[[[40., 30.]]]),
                     texts='the circle', return_vis=True)
    drawn = out['visualization'][0]
    assert drawn.shape == img.shape
    ring = drawn[24:37, 34:47].reshape(-1, 3).astype(int)
    assert (ring[:, 1] - ring[:, 0] - ring[:, 2] // 2).max() > 60  # green
