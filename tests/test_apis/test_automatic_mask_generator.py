"""SEEMAutomaticMaskGenerator: SAM-style records with SEEM labels, SAM's
filters, RLE output."""
import json

import numpy as np
import pytest
import torch

from mmseem.apis import SEEMAutomaticMaskGenerator
from mmseem.apis.amg_utils import (build_point_grid, generate_crop_boxes,
                                   is_box_near_crop_edge, mask_to_rle,
                                   rle_to_mask, stability_score)
THINGS = ['circle', 'square', 'triangle']
STUFF = ['sky', 'grass']

VOCAB = THINGS + STUFF
KEYS = {'segmentation', 'area', 'bbox', 'predicted_iou', 'stability_score',
        'point_coords', 'crop_box', 'label', 'label_id', 'label_score'}
# every filter off: what the model proposes for the 4 x 4 grid
NO_FILTER = dict(pred_iou_thresh=0.0, stability_score_thresh=0.0,
                 box_nms_thresh=1.0)


def _gen(model, **kw):
    args = dict(vocabulary=VOCAB, points_per_side=4, points_per_batch=6)
    args.update(kw)
    if 'point_grids' in kw:
        args['points_per_side'] = None
    return SEEMAutomaticMaskGenerator(model, **args)


@pytest.fixture(scope='module')
def image(make_image):
    return make_image(70, 100, seed=5)


@pytest.fixture(scope='module')
def unfiltered(tiny_model, image):
    return _gen(tiny_model, **NO_FILTER).generate(image)


def test_records_are_labelled_sam_records(unfiltered):
    assert len(unfiltered) > 0
    for r in unfiltered:
        assert set(r) == KEYS
        assert r['label'] in VOCAB and VOCAB[r['label_id']] == r['label']
        assert 0.0 <= r['label_score'] <= 1.0
        m = r['segmentation']
        assert m.shape == (70, 100) and m.dtype == bool
        assert r['area'] == int(m.sum()) > 0
        ys, xs = np.nonzero(m)
        assert r['bbox'] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(),
                             ys.max() + 1 - ys.min()]
        assert 0.5 <= r['predicted_iou'] <= 1.0
        assert 0.0 <= r['stability_score'] <= 1.0
        assert r['crop_box'] == [0, 0, 100, 70]
    ious = [r['predicted_iou'] for r in unfiltered]
    assert ious == sorted(ious, reverse=True)


def test_mask_equals_single_click_prediction(tiny_model, image, unfiltered):
    """A record's mask is what SEEMPredictor.predict gives for its click."""
    from mmseem.apis import SEEMPredictor
    pred = SEEMPredictor(tiny_model)
    pred.set_image(image)
    r = unfiltered[0]
    out = pred.predict(points=[r['point_coords']], point_labels=[[1]],
                       use_memory=False)
    # same logits up to float noise: a pixel at the threshold may flip
    assert (out['masks'][0] != r['segmentation']).mean() <= 1e-3
    assert VOCAB[int(out['labels'][0])] == r['label']


@pytest.mark.parametrize('key,arg', [('stability_score',
                                      'stability_score_thresh'),
                                     ('predicted_iou', 'pred_iou_thresh')])
def test_quality_filters_drop_low_masks(tiny_model, image, unfiltered, key,
                                        arg):
    values = sorted(r[key] for r in unfiltered)
    if values[0] == values[-1]:
        pytest.skip(f'all {key} equal on this random model')
    thr = float(np.median(values))
    kw = dict(NO_FILTER)
    kw[arg] = thr
    kept = _gen(tiny_model, **kw).generate(image)
    expect = [r for r in unfiltered
              if (r[key] >= thr if arg == 'stability_score_thresh' else
                  r[key] > thr)]
    assert 0 < len(kept) < len(unfiltered)
    assert sorted(map(str, (r['point_coords'] for r in kept))) == \
        sorted(map(str, (r['point_coords'] for r in expect)))


def test_nms_drops_duplicate(tiny_model, image):
    grid = [np.array([[0.3, 0.4], [0.3, 0.4], [0.8, 0.2]])]
    kw = dict(NO_FILTER, point_grids=grid)
    both = _gen(tiny_model, **kw).generate(image)
    assert len(both) == 3
    dup = [r for r in both if r['point_coords'] == [[30.0, 28.0]]]
    assert len(dup) == 2
    assert (dup[0]['segmentation'] == dup[1]['segmentation']).all()
    kw['box_nms_thresh'] = 0.7
    nms = _gen(tiny_model, **kw).generate(image)
    assert len(nms) < 3
    pts = [r['point_coords'] for r in nms]
    assert sum(p == [[30.0, 28.0]] for p in pts) <= 1


def test_coco_rle_round_trip(tiny_model, image, unfiltered):
    rle = _gen(tiny_model, output_mode='coco_rle',
               **NO_FILTER).generate(image)
    assert len(rle) == len(unfiltered)
    json.loads(json.dumps([r['segmentation'] for r in rle]))
    for a, b in zip(rle, unfiltered):
        assert a['segmentation']['size'] == [70, 100]
        assert (rle_to_mask(a['segmentation']) == b['segmentation']).all()
        assert a['area'] == b['area']


class _DiscRunner:
    """Stand-in for the batched SEEM call: a disc of radius 6 around each
    click (logits +5 inside, -5 outside), label 1, score 0.9 -- local masks
    that a random-weight model does not give, to test the crop logic."""

    def __init__(self, model, feats, sample):
        self.size = tuple(sample.metainfo['ori_shape'][:2])

    def run(self, prompts):
        from mmengine.structures import InstanceData
        out = []
        for vp in prompts:
            ys, xs = np.nonzero(vp.pos_masks[0].numpy())
            cy, cx = ys.mean(), xs.mean()
            yy, xx = np.mgrid[:self.size[0], :self.size[1]]
            disc = (yy - cy)**2 + (xx - cx)**2 <= 36
            res = InstanceData()
            res.mask_logits = torch.from_numpy(
                np.where(disc, 5.0, -5.0)[None]).float()
            res.labels = torch.tensor([1])
            res.scores = torch.tensor([0.9])
            out.append(res)
        return InstanceData.cat(out)


def test_crops_add_masks_from_crops(tiny_model, monkeypatch):
    from mmseem.apis import automatic_mask_generator as amg
    monkeypatch.setattr(amg, 'BatchedPromptRunner', _DiscRunner)
    image = np.zeros((120, 160, 3), np.uint8)
    recs = _gen(tiny_model, crop_n_layers=1, crop_nms_thresh=1.0,
                **NO_FILTER).generate(image)
    crops = {tuple(r['crop_box']) for r in recs}
    assert (0, 0, 160, 120) in crops and len(crops) == 5
    inner_edge_cut = 0
    for r in recs:
        x, y, w, h = r['crop_box']
        (px, py), = r['point_coords']
        assert x <= px <= x + w and y <= py <= y + h
        ys, xs = np.nonzero(r['segmentation'])
        assert xs.min() >= x and xs.max() < x + w
        assert ys.min() >= y and ys.max() < y + h
        assert r['label'] == VOCAB[1]
        bx, by, bw, bh = r['bbox']
        inner_edge_cut += (x > 0 and abs(bx - x) < 20) or \
            (x + w < 160 and abs(bx + bw - x - w) < 20)
    assert inner_edge_cut == 0  # masks cut by an inner crop edge dropped
    merged = _gen(tiny_model, crop_n_layers=1, crop_nms_thresh=0.3,
                  **NO_FILTER).generate(image)
    assert len(merged) < len(recs)
    boxes = torch.tensor([[b[0], b[1], b[0] + b[2], b[1] + b[3]]
                          for b in (r['bbox'] for r in merged)])
    from mmdet.structures.bbox import bbox_overlaps
    iou = bbox_overlaps(boxes, boxes)
    iou.fill_diagonal_(0)
    assert float(iou.max()) <= 0.3


def test_bad_arguments(tiny_model):
    with pytest.raises(ValueError, match='exactly one'):
        SEEMAutomaticMaskGenerator(tiny_model, vocabulary=VOCAB,
                                   point_grids=[np.zeros((1, 2))])
    with pytest.raises(ValueError, match='output_mode'):
        _gen(tiny_model, output_mode='png')


def test_amg_utils():
    g = build_point_grid(2)
    np.testing.assert_allclose(g, [[.25, .25], [.75, .25], [.25, .75],
                                   [.75, .75]])
    boxes, layers = generate_crop_boxes((100, 200), 1, 0.25)
    assert boxes[0] == [0, 0, 200, 100] and layers == [0, 1, 1, 1, 1]
    assert all(b[2] <= 200 and b[3] <= 100 for b in boxes)
    logits = torch.tensor([[[3., 0.5], [-0.5, -3.]]])
    # > 1: one pixel; > -1: three pixels
    assert float(stability_score(logits, 0.0, 1.0)[0]) == pytest.approx(1 / 3)
    near = is_box_near_crop_edge(
        torch.tensor([[0., 0., 50., 20.], [10., 10., 95., 40.]]),
        [0, 0, 100, 50], [0, 0, 200, 100])
    assert near.tolist() == [False, True]
    m = np.zeros((5, 7), bool)
    m[1:3, 2:6] = True
    assert (rle_to_mask(mask_to_rle(m)) == m).all()


def test_real_photo_records(tiny_model, shared_data):
    photos = sorted((shared_data / 'tiny_coco' / 'train2017_small')
                    .glob('*.jpg'))
    if not photos:
        pytest.skip('no photo in tiny_coco/train2017_small')
    recs = _gen(tiny_model, points_per_side=2, output_mode='coco_rle',
                **NO_FILTER).generate(str(photos[0]))
    from PIL import Image
    w, h = Image.open(photos[0]).size
    assert len(recs) >= 1
    for r in recs:
        assert r['segmentation']['size'] == [h, w]
        assert r['label'] in VOCAB
        assert r['area'] == int(rle_to_mask(r['segmentation']).sum())
