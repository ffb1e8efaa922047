"""RefCocoPanopticDataset + referring transforms on a tiny synthetic set."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmseem.datasets.refcoco_panoptic import RefCocoPanopticDataset
from mmseem.datasets.synthetic import (SYNTHETIC_METAINFO,
                                       generate_synthetic_coco)
from mmseem.datasets.transforms import (LoadReferringAnnotations,
                                        SampleReferringTexts)

PIPELINE = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadPanopticAnnotations', with_bbox=True,
         with_mask=True, with_seg=True),
    dict(type='LoadReferringAnnotations'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.RandomResize', scale=(64, 64), ratio_range=(0.8, 1.25),
         resize_type='mmdet.Resize', keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=(64, 64), crop_type='absolute',
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='SampleReferringTexts', max_refs=4),
    dict(type='PackSEEMInputs'),
]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp('syn') / 'synthetic'
    generate_synthetic_coco(str(out), num_train=4, num_val=1, image_size=64,
                            seed=0)
    return str(out) + '/'


def _dataset(root, ref_file, **kw):
    init_default_scope('mmseem')
    return RefCocoPanopticDataset(
        data_root=root, metainfo=dict(SYNTHETIC_METAINFO),
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/',
                         seg='annotations/panoptic_train2017/'),
        ref_file=ref_file, pipeline=PIPELINE, **kw)


def test_refs_linked_to_panoptic_things(root):
    ds = _dataset(root, 'annotations/refs_train.json')
    counts = ds.num_referring()
    assert counts.sum() > 0
    info = ds.get_data_info(int(np.argmax(counts)))
    for r in info['referring']:
        assert 0 <= r['inst_index'] < len(info['instances'])
        assert r['sentences'] and all(isinstance(s, str)
                                      for s in r['sentences'])
    # the pickle + instances json gives the same links
    ds_p = _dataset(root, 'annotations/refs(synthetic)_train.p',
                    ref_ann_file='annotations/instances_train2017.json',
                    ref_split='train')
    assert ds_p.num_referring().tolist() == counts.tolist()


def test_pipeline_packs_texts_and_target_indices(root):
    ds = _dataset(root, 'annotations/refs_train.json')
    np.random.seed(0)
    seen = 0
    for i in range(len(ds)):
        for _ in range(3):
            sample = ds[i]['data_samples']
            texts, inds = sample.gt_texts, sample.gt_text_inds
            assert len(texts) == len(inds) <= 4
            n = len(sample.gt_instances)
            assert all(0 <= int(k) < n for k in inds)
            seen += len(texts)
    assert seen > 0


def test_pipeline_pickle_pipeline_needs_ann_file(root):
    with pytest.raises(ValueError, match='ref_ann_file'):
        _dataset(root, 'annotations/refs(synthetic)_train.p')


def test_sample_referring_texts_follows_crop_and_flip():
    results = dict(
        gt_instances_ids=np.array([0, 2, 3]),  # instance 1 was cropped out
        gt_ignore_flags=np.array([False, True, False]),
        referring=[dict(inst_index=1, sentences=['gone']),
                   dict(inst_index=2, sentences=['ignored']),
                   dict(inst_index=3, sentences=['the left circle'])],
        flip=True, flip_direction='horizontal')
    out = SampleReferringTexts(max_refs=4, random_count=False)(results)
    assert out['gt_texts'] == ['the right circle']
    assert out['gt_text_inds'].tolist() == [1]  # index among kept instances


def test_load_referring_validates():
    with pytest.raises(ValueError, match='inst_index'):
        LoadReferringAnnotations()(dict(
            gt_bboxes=np.zeros((1, 4)),
            referring=[dict(inst_index=3, sentences=['x'])]))
    with pytest.raises(ValueError, match='max_refs'):
        SampleReferringTexts(max_refs=0)
