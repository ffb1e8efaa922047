"""tools/dataset_converters/filter_refcoco_images.py ("filtrefgumdval")."""
import copy
import importlib.util
import json
import os.path as osp
import pickle

import pytest


@pytest.fixture(scope='module')
def tool(repo_root):
    path = repo_root / 'tools' / 'dataset_converters' / \
        'filter_refcoco_images.py'
    spec = importlib.util.spec_from_file_location('filter_refcoco_images',
                                                  path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CATS = [dict(id=1, name='a', isthing=1), dict(id=7, name='b', isthing=0)]
IMAGES = [dict(id=i, file_name=f'{i:012d}.jpg', height=8, width=8)
          for i in (1, 2, 3, 4, 5)]
# refs: val on images 2 and 4 (twice) and 99 (not in the json);
# train on 1 (and 2, which val removes anyway); test on 3
REFS = [
    dict(ref_id=10, ann_id=100, image_id=1, split='train', category_id=1,
         sentences=[dict(raw='left one', sent='left one')]),
    dict(ref_id=11, ann_id=101, image_id=2, split='val', category_id=1,
         sentences=[dict(raw='the a', sent='the a')]),
    dict(ref_id=12, ann_id=102, image_id=2, split='train', category_id=1,
         sentences=[dict(raw='an a', sent='an a')]),
    dict(ref_id=13, ann_id=103, image_id=3, split='test', category_id=1,
         sentences=[dict(raw='top a', sent='top a')]),
    dict(ref_id=14, ann_id=104, image_id=4, split='val', category_id=1,
         sentences=[dict(raw='big a', sent='big a')]),
    dict(ref_id=15, ann_id=105, image_id=4, split='val', category_id=1,
         sentences=[dict(raw='small a', sent='small a')]),
    dict(ref_id=16, ann_id=106, image_id=99, split='val', category_id=1,
         sentences=[dict(raw='gone', sent='gone')]),
]


def _panoptic():
    segs = {1: 2, 2: 3, 3: 1, 4: 4, 5: 2}  # segments per image: 12 in all
    anns = [dict(image_id=i, file_name=f'{i:012d}.png', segments_info=[
        dict(id=i * 10 + k, category_id=1 if k else 7, iscrowd=0,
             bbox=[0, 0, 1, 1], area=1) for k in range(n)])
        for i, n in segs.items()]
    return dict(info=dict(description='tiny'), licenses=[dict(id=1)],
                images=copy.deepcopy(IMAGES), annotations=anns,
                categories=CATS)


def _instances():
    per_img = [1, 2, 2, 3, 4, 4, 4, 5]  # image 2: 2 anns, 4: 3 anns
    anns = [dict(id=100 + k, image_id=i, category_id=1, bbox=[0, 0, 1, 1],
                 area=1, iscrowd=0, segmentation=[[0, 0, 1, 0, 1, 1]])
            for k, i in enumerate(per_img)]
    return dict(images=copy.deepcopy(IMAGES), annotations=anns,
                categories=CATS[:1])


def _write(tmp_path, data, refs=REFS, name='in.json'):
    src = tmp_path / name
    src.write_text(json.dumps(data))
    refs_path = tmp_path / 'refs(umd).p'
    with open(refs_path, 'wb') as f:
        pickle.dump(refs, f)
    return str(src), str(refs_path), str(tmp_path / 'out' / 'filtered.json')


def _read(path):
    with open(path) as f:
        return json.load(f)


def test_panoptic_default_val(tool, tmp_path, capsys):
    data = _panoptic()
    src, refs, out = _write(tmp_path, data)
    res = tool.main([src, refs, out])
    assert res['kind'] == 'panoptic'
    assert res['removed_image_ids'] == [2, 4]
    assert res['ids_not_present'] == [99]
    assert res['refs_per_split'] == dict(train=2, val=4, test=1)
    assert res['counts'] == dict(images=[5, 3], annotations=[5, 3],
                                 segments=[12, 5])
    got = _read(out)
    assert list(got) == list(data)  # top-level keys and order kept
    for key in ('info', 'licenses', 'categories'):
        assert got[key] == data[key]
    keep = {1, 3, 5}
    assert got['images'] == [im for im in data['images'] if im['id'] in keep]
    # the kept records (with their segments_info) are untouched
    assert got['annotations'] == [a for a in data['annotations']
                                  if a['image_id'] in keep]
    printed = capsys.readouterr().out
    assert '(panoptic)' in printed
    assert 'images: 5 -> 3 (-2)' in printed
    assert 'segments: 12 -> 5 (-7)' in printed
    assert 'not in' in printed and '[99]' in printed


def test_instances_several_splits(tool, tmp_path):
    data = _instances()
    src, refs, out = _write(tmp_path, data)
    res = tool.filter_coco_json(src, refs, out, splits=('val', 'test'))
    assert res['kind'] == 'instances'
    assert res['removed_image_ids'] == [2, 3, 4]
    assert res['counts'] == dict(images=[5, 2], annotations=[8, 2])
    got = _read(out)
    assert [im['id'] for im in got['images']] == [1, 5]
    assert [a['id'] for a in got['annotations']] == [100, 107]
    assert got['annotations'][0] == data['annotations'][0]
    assert got['categories'] == data['categories']


def test_train_split_and_nothing_to_remove(tool, tmp_path):
    data = _instances()
    src, refs, out = _write(tmp_path, data)
    res = tool.filter_coco_json(src, refs, out, splits=['train'])
    assert res['removed_image_ids'] == [1, 2]
    # refs only on images absent from the json: output equals input
    only_missing = [r for r in REFS if r['image_id'] == 99]
    src, refs, out = _write(tmp_path, data, refs=only_missing)
    res = tool.filter_coco_json(src, refs, out)
    assert res['removed_image_ids'] == [] and res['ids_not_present'] == [99]
    assert _read(out) == data


def test_grounding_json_as_refs_and_as_input(tool, tmp_path):
    data = _instances()
    # SEEM grounding json with a split per annotation
    grd = dict(images=copy.deepcopy(IMAGES[:4]),
               annotations=[dict(r, id=r['ann_id'], bbox=[0, 0, 1, 1])
                            for r in REFS if r['image_id'] != 99],
               categories=CATS[:1],
               object_attributes=[dict(ann_id=r['ann_id'],
                                       image_id=r['image_id'], color='red')
                                  for r in REFS if r['image_id'] != 99])
    grd_path = tmp_path / 'refs_val.json'
    grd_path.write_text(json.dumps(grd))
    src, _, out = _write(tmp_path, data)
    res = tool.filter_coco_json(src, str(grd_path), out)
    assert res['removed_image_ids'] == [2, 4]
    # a one-split json without 'split' fields: all its images go
    no_split = dict(annotations=[dict(image_id=3, sentences=['a']),
                                 dict(image_id=5, sentences=['b'])])
    ns_path = tmp_path / 'refcocog_umd_val.json'
    ns_path.write_text(json.dumps(no_split))
    res = tool.filter_coco_json(src, str(ns_path), out)
    assert res['removed_image_ids'] == [3, 5]
    assert res['refs_per_split'] == {None: 2}
    # the grounding json itself filtered; its per-image list follows
    res = tool.filter_coco_json(str(grd_path), src.replace(
        'in.json', 'refs(umd).p'), str(tmp_path / 'g.json'))
    assert res['kind'] == 'grounding'
    assert res['counts'] == dict(images=[4, 2], annotations=[6, 2],
                                 object_attributes=[6, 2])
    got = _read(tmp_path / 'g.json')
    assert {a['image_id'] for a in got['annotations']} == {1, 3}
    assert {a['image_id'] for a in got['object_attributes']} == {1, 3}


def test_errors(tool, tmp_path):
    src, refs, out = _write(tmp_path, _panoptic())
    with pytest.raises(FileNotFoundError, match='COCO json .*nope.json'):
        tool.filter_coco_json(str(tmp_path / 'nope.json'), refs, out)
    with pytest.raises(FileNotFoundError, match=r'refs pickle .*quote'):
        tool.filter_coco_json(src, str(tmp_path / 'refs(x).p'), out)
    with pytest.raises(ValueError, match='overwrite the input'):
        tool.filter_coco_json(src, refs, src)
    # not a COCO json
    bad = tmp_path / 'bad.json'
    for content, msg in (('[1, 2]', 'top level is a list'),
                         ('{"images": []}', r"no list \['annotations'\]"),
                         ('{"images": [{"file_name": "x"}], '
                          '"annotations": []}', r"images\[0\] has no 'id'"),
                         ('{"images": [], "annotations": [{"id": 1}]}',
                          r"annotations\[0\] has no 'image_id'"),
                         ('{"images": [', 'not valid JSON')):
        bad.write_text(content)
        with pytest.raises(ValueError, match=msg):
            tool.filter_coco_json(str(bad), refs, out)
    # not a refs pickle
    pk = tmp_path / 'refs.p'
    for obj, msg in ((dict(refs=REFS), 'holds a dict, not a refs list'),
                     ([dict(ref_id=1, image_id=2)],
                      r"entry 0 is not a ref \(needs \['image_id', "
                      r"'split'\]"),
                     (['a sentence'], 'entry 0 is not a ref')):
        with open(pk, 'wb') as f:
            pickle.dump(obj, f)
        with pytest.raises(ValueError, match=msg):
            tool.filter_coco_json(src, str(pk), out)
    pk.write_text('{"not": "a pickle"}')
    with pytest.raises(ValueError, match='not a readable pickle'):
        tool.filter_coco_json(src, str(pk), out)
    # a split with no refs names the splits there are
    with pytest.raises(ValueError, match=r"no refs of splits \['valid'\]"
                       r".*\['test', 'train', 'val'\]"):
        tool.filter_coco_json(src, refs, out, splits=['valid'])
    assert not osp.exists(out)
    # the command line exits with the message, no traceback
    with pytest.raises(SystemExit, match="error: .*no refs of splits"):
        tool.main([src, refs, out, '--splits', 'valid'])


def test_synthetic_set(tool, tmp_path):
    from mmseem.datasets.synthetic import (generate_synthetic_coco,
                                           validate_coco_json)
    root = tmp_path / 'synthetic'
    generate_synthetic_coco(str(root), num_train=4, num_val=2, image_size=64,
                            seed=0)
    ann = root / 'annotations'
    with open(ann / 'refs(synthetic)_val.p', 'rb') as f:
        val_refs = pickle.load(f)
    val_ref_imgs = sorted({r['image_id'] for r in val_refs})
    assert val_ref_imgs  # the generator refers to objects in every split
    pan_val = _read(ann / 'panoptic_val2017.json')
    out = tmp_path / 'panoptic_val2017_filtrefval.json'
    res = tool.main([str(ann / 'panoptic_val2017.json'),
                     str(ann / 'refs(synthetic)_val.p'), str(out)])
    assert res['kind'] == 'panoptic'
    assert res['removed_image_ids'] == val_ref_imgs
    assert res['ids_not_present'] == []
    n_keep = len(pan_val['images']) - len(val_ref_imgs)
    assert res['counts']['images'] == [len(pan_val['images']), n_keep]
    got = _read(out)
    assert got['categories'] == pan_val['categories']
    assert [im['id'] for im in got['images']] == [
        im['id'] for im in pan_val['images']
        if im['id'] not in val_ref_imgs]
    # still a valid panoptic json whose PNGs match its segments_info
    validate_coco_json(str(out), png_dir=str(ann / 'panoptic_val2017'))
    # a umd-like pickle (all splits in one file): the train refs with
    # those of the first two train images relabelled 'val'
    pan_train = _read(ann / 'panoptic_train2017.json')
    with open(ann / 'refs(synthetic)_train.p', 'rb') as f:
        train_refs = pickle.load(f)
    held_out = sorted({r['image_id'] for r in train_refs})[:2]
    assert len(held_out) == 2
    umd = [dict(r, split='val' if r['image_id'] in held_out else 'train')
           for r in train_refs] + val_refs
    with open(ann / 'refs(synth-umd).p', 'wb') as f:
        pickle.dump(umd, f)
    out = tmp_path / 'panoptic_train2017_filtrefval.json'
    res = tool.filter_coco_json(str(ann / 'panoptic_train2017.json'),
                                str(ann / 'refs(synth-umd).p'), str(out))
    assert res['removed_image_ids'] == held_out
    assert res['ids_not_present'] == val_ref_imgs
    got = _read(out)
    assert got['images'] == [im for im in pan_train['images']
                             if im['id'] not in held_out]
    assert len(got['images']) == 2  # 4 train images, 2 held out
    assert got['annotations'] == [a for a in pan_train['annotations']
                                  if a['image_id'] not in held_out]
    assert res['counts']['segments'] == [
        sum(len(a['segments_info']) for a in d['annotations'])
        for d in (pan_train, got)]
    validate_coco_json(str(out), png_dir=str(ann / 'panoptic_train2017'))
    # the same images through the SEEM grounding json refs_val.json
    res_json = tool.filter_coco_json(str(ann / 'panoptic_val2017.json'),
                                     str(ann / 'refs_val.json'),
                                     str(tmp_path / 'b.json'))
    assert res_json['removed_image_ids'] == val_ref_imgs
    # train json, val refs: nothing to drop, every ref id reported missing
    res = tool.filter_coco_json(str(ann / 'panoptic_train2017.json'),
                                str(ann / 'refs(synthetic)_val.p'),
                                str(tmp_path / 'c.json'))
    assert res['removed_image_ids'] == []
    assert res['ids_not_present'] == val_ref_imgs
    assert _read(tmp_path / 'c.json') == pan_train
    # instances train json with the train refs
    with open(ann / 'refs(synthetic)_train.p', 'rb') as f:
        train_ref_imgs = {r['image_id'] for r in pickle.load(f)}
    inst = _read(ann / 'instances_train2017.json')
    res = tool.filter_coco_json(str(ann / 'instances_train2017.json'),
                                str(ann / 'refs(synthetic)_train.p'),
                                str(tmp_path / 'd.json'), splits=['train'])
    assert res['kind'] == 'instances'
    assert res['removed_image_ids'] == sorted(train_ref_imgs)
    assert res['counts']['annotations'] == [
        len(inst['annotations']),
        sum(a['image_id'] not in train_ref_imgs
            for a in inst['annotations'])]
    validate_coco_json(str(tmp_path / 'd.json'))
