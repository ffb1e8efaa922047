"""mmdet's PQ (with the panopticapi module from panopticapi-lite) and the
panoptic-to-semantic mIoU give 100 on a perfect prediction of the synthetic
set and less on a corrupted one."""
import json

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    from mmseem.datasets.synthetic import generate_synthetic_coco
    root = tmp_path_factory.mktemp('syn')
    generate_synthetic_coco(root, num_train=1, num_val=4, image_size=64,
                            seed=1)
    return root


def _perfect_samples(root):
    ann = root / 'annotations'
    d = json.loads((ann / 'panoptic_val2017.json').read_text())
    cats = [c['id'] for c in d['categories']]
    num_things = sum(c['isthing'] for c in d['categories'])
    samples = []
    for a in d['annotations']:
        png = np.array(Image.open(ann / 'panoptic_val2017' / a['file_name']),
                       dtype=np.int64)
        ids = png[..., 0] + 256 * png[..., 1] + 65536 * png[..., 2]
        pan = np.full(ids.shape, len(cats), np.int64)  # void
        sem = np.full(ids.shape, 255, np.int64)
        for k, s in enumerate(a['segments_info']):
            label = cats.index(s['category_id'])
            inst = (k + 1) * 1000 if label < num_things else 0
            pan[ids == s['id']] = label + inst
            sem[ids == s['id']] = label
        samples.append(
            dict(
                img_id=a['image_id'],
                img_path=str(root / 'val2017' /
                             a['file_name'].replace('.png', '.jpg')),
                ori_shape=ids.shape,
                pred_panoptic_seg=dict(sem_seg=torch.from_numpy(pan)[None]),
                gt_sem_seg=dict(sem_seg=torch.from_numpy(sem)[None])))
    return samples


def test_panoptic_quality_perfect_and_corrupted(synthetic):
    from mmdet.evaluation import CocoPanopticMetric

    from mmseem.datasets.synthetic import SYNTHETIC_METAINFO
    ann = synthetic / 'annotations'

    def pq(samples):
        m = CocoPanopticMetric(
            ann_file=str(ann / 'panoptic_val2017.json'),
            seg_prefix=str(ann / 'panoptic_val2017'))
        m.dataset_meta = dict(SYNTHETIC_METAINFO)
        m.process({}, samples)
        return m.compute_metrics(m.results)

    samples = _perfect_samples(synthetic)
    res = pq(samples)
    assert res['PQ'] == pytest.approx(100.0)
    assert res['PQ_th'] == pytest.approx(100.0)
    for s in samples:  # predict every pixel as the first stuff class
        s['pred_panoptic_seg']['sem_seg'][:] = 5
    assert pq(samples)['PQ'] < 50


def test_panoptic_sem_seg_miou(synthetic):
    from mmseem.datasets.synthetic import SYNTHETIC_METAINFO
    from mmseem.evaluation.metrics import PanopticSemSegMetric

    samples = _perfect_samples(synthetic)
    m = PanopticSemSegMetric(iou_metrics=['mIoU'])
    m.dataset_meta = dict(SYNTHETIC_METAINFO)
    m.process({}, samples)
    assert m.compute_metrics(m.results)['mIoU'] == pytest.approx(100.0)

    for s in samples:  # void predictions count as misses, not as a class
        s['pred_panoptic_seg']['sem_seg'][:] = 8
    m.results.clear()
    m.process({}, samples)
    assert m.compute_metrics(m.results)['mIoU'] == pytest.approx(0.0)
