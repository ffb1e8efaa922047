"""Bad dataset files: every error names the file, the entry and the field
(or the bad shape), instead of a bare ``KeyError`` / reshape error."""
import json
import os
import pickle

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from PIL import Image

from mmseem.datasets.davis import DAVISDataset
from mmseem.datasets.refcoco_panoptic import RefCocoPanopticDataset
from mmseem.datasets.synthetic import (SYNTHETIC_METAINFO,
                                       generate_synthetic_coco)
from mmseem.datasets.synthetic_dataset import (SyntheticInstanceDataset,
                                               SyntheticPanopticDataset)
from mmseem.datasets.transforms import (LoadReferringAnnotations,
                                        PackSEEMInputs)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp('bad') / 'synthetic'
    generate_synthetic_coco(str(out), num_train=2, num_val=1, image_size=32,
                            seed=0)
    return str(out) + '/'


def _refcoco(root, ref_file, **kw):
    init_default_scope('mmseem')
    return RefCocoPanopticDataset(
        data_root=root, metainfo=dict(SYNTHETIC_METAINFO),
        ann_file=kw.pop('ann_file', 'annotations/panoptic_train2017.json'),
        data_prefix=dict(img='train2017/',
                         seg='annotations/panoptic_train2017/'),
        ref_file=ref_file, pipeline=[], **kw)


def _grounding(root, tmp_path, mutate):
    with open(os.path.join(root, 'annotations', 'refs_train.json')) as f:
        data = json.load(f)
    mutate(data)
    path = tmp_path / 'refs_bad.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_grounding_json_entry_without_sentences(root, tmp_path):
    path = _grounding(root, tmp_path,
                      lambda d: d['annotations'][1].pop('sentences'))
    with pytest.raises(ValueError, match=r"refs_bad\.json.*entry 1 has no "
                       r"\['sentences'\]"):
        _refcoco(root, path)


def test_grounding_json_bad_bbox(root, tmp_path):

    def mutate(d):
        d['annotations'][0]['bbox'] = [1, 2, 3]

    path = _grounding(root, tmp_path, mutate)
    with pytest.raises(ValueError, match=r'refs_bad\.json.*entry 0 has bbox '
                       r'\[1, 2, 3\]; expected 4 numbers'):
        _refcoco(root, path)


def test_grounding_json_without_annotations_list(root, tmp_path):
    path = tmp_path / 'refs_list.json'
    path.write_text('[1, 2]')
    with pytest.raises(ValueError, match=r"refs_list\.json.*no top-level "
                       r"'annotations' list \(got list\)"):
        _refcoco(root, str(path))


def test_grounding_sentence_dict_without_raw(root, tmp_path):

    def mutate(d):
        d['annotations'][0]['sentences'] = [dict(tokens=['a'])]

    path = _grounding(root, tmp_path, mutate)
    with pytest.raises(ValueError, match=r"entry 0 has a sentence .*without "
                       r"a 'raw'"):
        _refcoco(root, path)


def test_refs_pickle_entry_without_ann_id(root, tmp_path):
    with open(os.path.join(root, 'annotations', 'refs(synthetic)_train.p'),
              'rb') as f:
        refs = pickle.load(f)
    del refs[2]['ann_id']
    path = tmp_path / 'refs(bad).p'
    with open(path, 'wb') as f:
        pickle.dump(refs, f)
    with pytest.raises(ValueError, match=r"refs\(bad\)\.p \(RefCOCO refs "
                       r"pickle\): entry 2 has no \['ann_id'\]"):
        _refcoco(root, str(path),
                 ref_ann_file='annotations/instances_train2017.json')


def test_refs_pickle_that_is_not_a_pickle(root, tmp_path):
    path = tmp_path / 'refs(text).p'
    path.write_text('{"annotations": []}')
    with pytest.raises(ValueError, match=r'refs\(text\)\.p is not a readable '
                       'pickle'):
        _refcoco(root, str(path),
                 ref_ann_file='annotations/instances_train2017.json')


def test_ref_ann_file_entry_without_bbox(root, tmp_path):
    with open(os.path.join(root, 'annotations',
                           'instances_train2017.json')) as f:
        inst = json.load(f)
    del inst['annotations'][0]['bbox']
    path = tmp_path / 'inst_bad.json'
    path.write_text(json.dumps(inst))
    with pytest.raises(ValueError, match=r"ref_ann_file .*inst_bad\.json "
                       r"\(instances json\): entry 0 has no \['bbox'\]"):
        _refcoco(root, 'annotations/refs(synthetic)_train.p',
                 ref_ann_file=str(path))


def test_refcoco_missing_coco_names_root_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"panoptic_train2017\.json "
                       r"not found \(data_root=.*--cfg-options "
                       r"train_dataloader\.dataset\.data_root="):
        _refcoco(str(tmp_path) + '/', 'refs.json')


def _panoptic_json(root, tmp_path, mutate, name='pan_bad.json'):
    with open(os.path.join(root, 'annotations',
                           'panoptic_train2017.json')) as f:
        data = json.load(f)
    mutate(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_panoptic_json_without_segments_info(root, tmp_path):
    path = _panoptic_json(
        root, tmp_path, lambda d: d['annotations'][1].pop('segments_info'))
    init_default_scope('mmseem')
    with pytest.raises(ValueError, match=r"pan_bad\.json is not a valid COCO "
                       r"panoptic json: annotations\[1\] has no "
                       r"\['segments_info'\].*KeyError"):
        SyntheticPanopticDataset(
            data_root=root, ann_file=path,
            data_prefix=dict(img='train2017/',
                             seg='annotations/panoptic_train2017/'),
            pipeline=[])


def test_panoptic_segment_without_category(root, tmp_path):

    def mutate(d):
        d['annotations'][0]['segments_info'][0].pop('category_id')

    path = _panoptic_json(root, tmp_path, mutate)
    init_default_scope('mmseem')
    with pytest.raises(ValueError, match=r"annotations\[0\]\.segments_info"
                       r"\[0\] has no \['category_id'\]"):
        _refcoco(root, 'annotations/refs_train.json', ann_file=path)


def test_instances_json_image_without_file_name(root, tmp_path):
    with open(os.path.join(root, 'annotations',
                           'instances_train2017.json')) as f:
        data = json.load(f)
    data['images'][0].pop('file_name')
    path = tmp_path / 'inst_noname.json'
    path.write_text(json.dumps(data))
    init_default_scope('mmseem')
    with pytest.raises(ValueError, match=r"inst_noname\.json is not a valid "
                       r"COCO instances json: images\[0\] has no "
                       r"\['file_name'\]"):
        SyntheticInstanceDataset(data_root=root, ann_file=str(path),
                                 data_prefix=dict(img='train2017/'),
                                 pipeline=[])


# ------------------------------------------------------------------- DAVIS
def _davis(tmp_path, ann_size=(8, 8), ann_bytes=None):
    for sub in ('JPEGImages/bear', 'Annotations/bear'):
        os.makedirs(tmp_path / sub, exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(
        tmp_path / 'JPEGImages/bear/00000.jpg')
    ann = tmp_path / 'Annotations/bear/00000.png'
    if ann_bytes is not None:
        ann.write_bytes(ann_bytes)
    else:
        Image.fromarray(np.ones(ann_size, np.uint8)).save(ann)
    return str(tmp_path)


def test_davis_annotation_of_another_size(tmp_path):
    root = _davis(tmp_path, ann_size=(16, 12))
    with pytest.raises(ValueError, match=r'Annotations/bear/00000\.png is '
                       r'16x12 but its frame .*00000\.jpg is 8x8'):
        DAVISDataset(data_root=root, pipeline=[])


def test_davis_annotation_not_an_image(tmp_path):
    root = _davis(tmp_path, ann_bytes=b'not a png')
    with pytest.raises(ValueError, match=r'cannot read the DAVIS annotation '
                       r'.*00000\.png'):
        DAVISDataset(data_root=root, pipeline=[])


# -------------------------------------------------------------- transforms
def _results(**kw):
    base = dict(img=np.zeros((8, 8, 3), np.uint8), img_path='img_7.jpg',
                gt_bboxes=np.zeros((2, 4), np.float32))
    base.update(kw)
    return base


def test_referring_entry_without_inst_index():
    with pytest.raises(ValueError, match=r"referring entry 0 of img_7\.jpg "
                       r"has no \['inst_index'\]"):
        LoadReferringAnnotations()(_results(referring=[dict(
            sentences=['x'])]))


def test_referring_sentences_not_a_list_of_str():
    with pytest.raises(ValueError, match=r"entry 0 of img_7\.jpg has "
                       r"sentences 'the dog'; expected a non-empty list"):
        LoadReferringAnnotations()(_results(referring=[dict(
            inst_index=0, sentences='the dog')]))


def test_panoptic_png_of_another_size():
    with pytest.raises(ValueError, match=r'pan_7\.png gives gt_seg_map of '
                       r'size 4x8 but the image img_7\.jpg is 8x8'):
        LoadReferringAnnotations()(_results(
            gt_seg_map=np.zeros((4, 8), np.uint8),
            seg_map_path='pan_7.png'))


def test_pack_texts_without_matching_indices():
    from mmdet.structures.bbox import HorizontalBoxes
    results = _results(
        gt_bboxes=HorizontalBoxes(np.zeros((2, 4), np.float32)),
        gt_bboxes_labels=np.zeros(2, np.int64),
        gt_texts=['a', 'b'], gt_text_inds=np.array([0]))
    with pytest.raises(ValueError, match=r'img_7\.jpg: gt_text_inds \[0\] '
                       r'\(shape \(1,\)\) must give one index in \[0, 2\) '
                       r'per text'):
        PackSEEMInputs()(results)


def test_sbd_mat_with_a_3d_segmentation(tmp_path):
    from scipy.io import savemat

    from mmseem.datasets.interactive_seg import SBDInteractiveDataset
    for sub in ('img', 'inst'):
        (tmp_path / sub).mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / 'img/a.jpg')
    seg = np.ones((4, 4, 2), np.uint8)
    savemat(tmp_path / 'inst/a.mat', dict(GTinst=dict(Segmentation=seg)))
    (tmp_path / 'val.txt').write_text('a\n')
    with pytest.raises(ValueError, match=r"'sbd_mat' mask .*inst/a\.mat: "
                       r'GTinst\.Segmentation is a uint8 array of shape '
                       r'\(4, 4, 2\); expected an \[H, W\] integer id map'):
        SBDInteractiveDataset(data_root=str(tmp_path), pipeline=[])
