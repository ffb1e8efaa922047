"""The real samples in ``../shared/data`` load with pycocotools, mmdet and
mmseg (skipped when that folder, a sibling of the repo root, is absent)."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2].parent / 'shared' / 'data'
pytestmark = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f'shared sample data not found at {SHARED} (only present on the '
    'project machines; a fresh clone has no ../shared)')

TINY = SHARED / 'tiny_coco'
PAN = SHARED / 'coco_panoptic_sample' / 'sample_data'
DAVIS = SHARED / 'davis_car_shadow'


def _build(cfg, scope):
    """Build through mmseem's registry with ``_scope_`` (as a config would);
    the global default scope is left untouched."""
    from mmseem.registry import DATASETS
    return DATASETS.build(dict(cfg, _scope_=scope))


def test_tiny_coco_pycocotools():
    from pycocotools.coco import COCO
    coco = COCO(str(TINY / 'instances_train2017_small.json'))
    assert len(coco.imgs) == 16 and len(coco.anns) == 197
    assert len(coco.cats) == 80
    crowd = [a for a in coco.anns.values() if a['iscrowd']]
    assert len(crowd) == 1
    for ann in list(coco.anns.values())[:20] + crowd:
        img = coco.imgs[ann['image_id']]
        mask = coco.annToMask(ann)
        assert mask.shape == (img['height'], img['width']) and mask.any()


def test_tiny_coco_mmdet_dataset():
    ds = _build(dict(
        type='CocoDataset', data_root=str(TINY),
        ann_file='instances_train2017_small.json',
        data_prefix=dict(img='train2017_small/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True,
                       with_mask=True)]), 'mmdet')
    assert len(ds) == 16
    assert len(ds.metainfo['classes']) == 80
    n_inst = sum(
        len(ds.get_data_info(k)['instances']) for k in range(len(ds)))
    assert n_inst == 197
    out = ds[0]
    h, w = out['img'].shape[:2]
    assert (h, w) == (out['height'], out['width'])
    assert out['gt_masks'].to_ndarray().shape[1:] == (h, w)
    assert len(out['gt_bboxes']) == len(out['gt_bboxes_labels']) >= 1
    assert out['gt_bboxes_labels'].max() < 80


def test_panoptic_sample_png_ids():
    from mmseem.datasets.synthetic import validate_coco_json

    # raises if a segments_info id is missing from its PNG (or vice versa)
    data = validate_coco_json(
        str(PAN / 'panoptic_examples.json'),
        png_dir=str(PAN / 'panoptic_examples'))
    assert [len(a['segments_info']) for a in data['annotations']] == [18, 32]
    for ann in data['annotations']:
        rgb = cv2.imread(str(PAN / 'panoptic_examples' / ann['file_name']))
        rgb = rgb[..., ::-1].astype(np.int64)
        ids = rgb[..., 0] + 256 * rgb[..., 1] + 256**2 * rgb[..., 2]
        for s in ann['segments_info']:
            assert (ids == s['id']).sum() == s['area']


def test_panoptic_sample_mmdet_dataset():
    with open(PAN / 'panoptic_examples.json') as f:
        raw = json.load(f)
    ds = _build(dict(
        type='CocoPanopticDataset', data_root=str(PAN),
        ann_file='panoptic_examples.json',
        data_prefix=dict(img='input_images/', seg='panoptic_examples/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadPanopticAnnotations', with_bbox=True,
                       with_mask=True, with_seg=True)]), 'mmdet')
    assert len(ds) == 2
    classes = ds.metainfo['classes']
    assert len(classes) == 133
    cat_names = {c['id']: c['name'] for c in raw['categories']}
    by_img = {a['image_id']: a for a in raw['annotations']}
    for k in range(2):
        out = ds[k]
        ann = by_img[out['img_id']]
        h, w = out['img'].shape[:2]
        seg = out['gt_seg_map']
        assert seg.shape == (h, w)
        # every labelled pixel carries its segment's category (by name)
        labelled = sum(s['area'] for s in ann['segments_info'])
        assert (seg != 255).sum() == labelled
        for s in ann['segments_info']:
            label = classes.index(cat_names[s['category_id']])
            assert (seg == label).sum() >= s['area']
        n_things = sum(s['category_id'] in {c['id'] for c in raw['categories']
                                           if c['isthing']} and
                       not s['iscrowd'] for s in ann['segments_info'])
        assert len(out['gt_masks']) == n_things


def test_davis_frames_and_masks():
    frames = sorted((DAVIS / 'JPEGImages').glob('*.jpg'))
    masks = sorted((DAVIS / 'Annotations').glob('*.png'))
    assert len(frames) == len(masks) == 40
    assert [p.stem for p in frames] == [p.stem for p in masks]
    for f, m in zip(frames[::13], masks[::13]):
        img = cv2.imread(str(f))
        mask = cv2.imread(str(m), cv2.IMREAD_UNCHANGED)
        assert img.shape == (480, 854, 3)
        assert mask.shape == (480, 854)
        assert set(np.unique(mask).tolist()) <= {0, 255}
        assert 0 < (mask == 255).mean() < 0.5


def test_davis_mmseg_dataset():
    ds = _build(dict(
        type='BaseSegDataset', data_root=str(DAVIS),
        data_prefix=dict(img_path='JPEGImages', seg_map_path='Annotations'),
        img_suffix='.jpg', seg_map_suffix='.png',
        metainfo=dict(classes=('background', 'car')),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations')]), 'mmseg')
    assert len(ds) == 40
    out = ds[0]
    assert out['img'].shape == (480, 854, 3)
    # DAVIS stores the object as 255, which mmseg reads as "ignore"
    assert set(np.unique(out['gt_seg_map']).tolist()) == {0, 255}
