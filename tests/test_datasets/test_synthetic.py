"""Tests for the embedded synthetic COCO-format data set."""
import json
import os
import os.path as osp
import pickle
import re

import cv2
import numpy as np
import pytest

from mmseem.datasets.synthetic import (MARKER_FILE, REFERRING_VOCAB,
                                       SYNTHETIC_CLASSES, SYNTHETIC_COLORS,
                                       SYNTHETIC_PALETTE,
                                       SYNTHETIC_STUFF_CLASSES,
                                       SYNTHETIC_THING_CLASSES,
                                       SyntheticScene, check_data_root,
                                       generate_synthetic_coco,
                                       generator_version, is_synthetic_root,
                                       make_scene, validate_coco_json)

SIZE = 64
N_TRAIN, N_VAL = 6, 3
SPLITS = ('train', 'val')


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic'))
    summary = generate_synthetic_coco(
        out, num_train=N_TRAIN, num_val=N_VAL, image_size=SIZE, seed=0)
    assert summary['counts']['images'] == dict(train=N_TRAIN, val=N_VAL)
    return out


def _load(root, name):
    with open(osp.join(root, 'annotations', name)) as f:
        return json.load(f)


def _rgb2id(path):
    rgb = cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1].astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def _labels_by_cat(pan):
    # label = index in the panoptic category list (things then stuff)
    return {c['id']: i for i, c in enumerate(pan['categories'])}


def test_files_exist(root):
    for split in SPLITS:
        for rel in (f'annotations/instances_{split}2017.json',
                    f'annotations/panoptic_{split}2017.json',
                    f'annotations/refs_{split}.json',
                    f'annotations/refs(synthetic)_{split}.p'):
            assert osp.isfile(osp.join(root, rel)), rel
        inst = _load(root, f'instances_{split}2017.json')
        assert len(inst['images']) == (N_TRAIN if split == 'train' else N_VAL)
        for im in inst['images']:
            stem = osp.splitext(im['file_name'])[0]
            img = cv2.imread(osp.join(root, f'{split}2017', im['file_name']))
            assert img.shape == (SIZE, SIZE, 3)
            for d in (f'panoptic_{split}2017', f'panoptic_semseg_{split}2017'):
                assert osp.isfile(osp.join(root, 'annotations', d,
                                           stem + '.png'))
    meta = json.load(open(osp.join(root, 'meta.json')))
    assert meta['classes'] == list(SYNTHETIC_CLASSES)
    assert meta['generation_args']['image_size'] == SIZE
    assert osp.isfile(osp.join(root, 'README.md'))
    assert len(SYNTHETIC_PALETTE) == len(SYNTHETIC_CLASSES)


def test_categories_and_ids(root):
    train = _load(root, 'instances_train2017.json')
    val = _load(root, 'instances_val2017.json')
    assert [c['name'] for c in train['categories']] == list(
        SYNTHETIC_THING_CLASSES)
    pan = _load(root, 'panoptic_train2017.json')
    assert [c['name'] for c in pan['categories']] == list(SYNTHETIC_CLASSES)
    assert [c['isthing'] for c in pan['categories']] == \
        [1] * len(SYNTHETIC_THING_CLASSES) + [0] * len(SYNTHETIC_STUFF_CLASSES)
    # image and annotation ids are unique over both splits
    img_ids = [i['id'] for i in train['images'] + val['images']]
    ann_ids = [a['id'] for a in train['annotations'] + val['annotations']]
    assert len(set(img_ids)) == len(img_ids)
    assert len(set(ann_ids)) == len(ann_ids)
    for a in train['annotations']:
        assert a['iscrowd'] == 0 and len(a['bbox']) == 4 and a['area'] > 0


def test_pycocotools_masks_match_panoptic(root):
    from pycocotools.coco import COCO
    for split in SPLITS:
        coco = COCO(osp.join(root, 'annotations',
                             f'instances_{split}2017.json'))
        pan = _load(root, f'panoptic_{split}2017.json')
        n_masks = 0
        for pa in pan['annotations']:
            ids = _rgb2id(osp.join(root, 'annotations',
                                   f'panoptic_{split}2017', pa['file_name']))
            things = [s for s in pa['segments_info']
                      if s['category_id'] in coco.cats]
            anns = coco.loadAnns(coco.getAnnIds(imgIds=pa['image_id']))
            assert len(anns) == len(things) >= 1
            for ann, seg in zip(anns, things):
                mask = coco.annToMask(ann).astype(bool)
                assert mask.sum() == ann['area'] > 0
                # polygons rasterise back to the panoptic segment exactly
                assert np.array_equal(mask, ids == seg['id'])
                x, y, w, h = ann['bbox']
                ys, xs = np.nonzero(mask)
                assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == \
                    (x, y, x + w, y + h)
                n_masks += 1
        assert n_masks == len(coco.anns)


def test_panoptic_png_and_semantic_png(root):
    for split in SPLITS:
        pan = _load(root, f'panoptic_{split}2017.json')
        cat2label = _labels_by_cat(pan)
        assert len(pan['annotations']) == len(pan['images'])
        for pa in pan['annotations']:
            ids = _rgb2id(osp.join(root, 'annotations',
                                   f'panoptic_{split}2017', pa['file_name']))
            sem = cv2.imread(
                osp.join(root, 'annotations', f'panoptic_semseg_{split}2017',
                         pa['file_name']), cv2.IMREAD_UNCHANGED)
            assert sem.dtype == np.uint8 and sem.shape == (SIZE, SIZE)
            seg_ids = [s['id'] for s in pa['segments_info']]
            assert sorted(set(np.unique(ids)) - {0}) == sorted(seg_ids)
            expected = np.full_like(sem, 255)
            for s in pa['segments_info']:
                m = ids == s['id']
                assert m.sum() == s['area']
                expected[m] = cat2label[s['category_id']]
            assert np.array_equal(sem, expected)
            assert set(np.unique(sem)) <= set(range(len(SYNTHETIC_CLASSES)))
            # every image has at least one stuff and one thing segment
            labels = set(np.unique(sem))
            assert labels & set(range(len(SYNTHETIC_THING_CLASSES)))
            assert labels - set(range(len(SYNTHETIC_THING_CLASSES)))


# ------------------------------------------------ referring expressions
_SIZE_WORDS = {w: k for k in ('small', 'large') for w in REFERRING_VOCAB[k]}
_SUP_WORDS = {w: k for k in ('largest', 'smallest', 'leftmost', 'rightmost',
                             'topmost', 'bottommost')
              for w in REFERRING_VOCAB[k]}
_REL_WORDS = {w: k for k in ('left', 'right', 'above', 'below')
              for w in REFERRING_VOCAB[k]}
_REGION_WORDS = {REFERRING_VOCAB[k][0]: k for k in SYNTHETIC_STUFF_CLASSES}
_NP = (r'(?:(?P<{p}size>' + '|'.join(_SIZE_WORDS) + r') )?(?:(?P<{p}color>'
       + '|'.join(SYNTHETIC_COLORS) + r') )?(?P<{p}shape>'
       + '|'.join(SYNTHETIC_THING_CLASSES) + ')')
_SENT = re.compile(
    r'^the (?:(?P<sup>' + '|'.join(_SUP_WORDS) + r') )?' + _NP.format(p='t')
    + r'(?: (?:(?P<rel>' + '|'.join(sorted(_REL_WORDS, key=len, reverse=True))
    + r') the ' + _NP.format(p='l') + r'|(?P<region>'
    + '|'.join(_REGION_WORDS) + r')))?$')


def _matches(obj, m, p):
    return (obj['shape'] == m[p + 'shape']
            and m[p + 'color'] in (None, obj['color'])
            and (m[p + 'size'] is None
                 or _SIZE_WORDS[m[p + 'size']] == obj['size']))


def _resolve(sentence, objs):
    """Independent re-implementation: which objects fit the sentence."""
    m = _SENT.match(sentence)
    assert m, f'unparsable sentence {sentence!r}'
    cand = [i for i, o in enumerate(objs) if _matches(o, m, 't')]
    if m['sup']:
        assert len(cand) >= 2, sentence  # a superlative must be needed
        key = {'largest': lambda o: -o['area'],
               'smallest': lambda o: o['area'],
               'leftmost': lambda o: o['cx'], 'rightmost': lambda o: -o['cx'],
               'topmost': lambda o: o['cy'],
               'bottommost': lambda o: -o['cy']}[_SUP_WORDS[m['sup']]]
        vals = sorted(key(objs[i]) for i in cand)
        assert vals[0] < vals[1], sentence  # strict extreme
        return [i for i in cand if key(objs[i]) == vals[0]]
    if m['rel']:
        land = [i for i, o in enumerate(objs) if _matches(o, m, 'l')]
        assert len(land) == 1, f'landmark of {sentence!r} not unique'
        lm = objs[land[0]]
        rel = _REL_WORDS[m['rel']]
        axis = 'cx' if rel in ('left', 'right') else 'cy'
        sign = -1 if rel in ('left', 'above') else 1
        return [i for i in cand if i != land[0]
                and sign * (objs[i][axis] - lm[axis]) > 0]
    if m['region']:
        reg = _REGION_WORDS[m['region']]
        return [i for i in cand if objs[i]['regions'][reg] >= 0.5]
    return cand


def _nearest_color(rgb):
    return min(SYNTHETIC_COLORS, key=lambda c: np.sum(
        (np.asarray(SYNTHETIC_COLORS[c], float) - rgb)**2))


def test_referring_sentences_are_unique(root):
    from pycocotools.coco import COCO
    n_sent = 0
    kinds = set()
    for split in SPLITS:
        refs = _load(root, f'refs_{split}.json')
        validate_coco_json(osp.join(root, 'annotations', f'refs_{split}.json'))
        coco = COCO(osp.join(root, 'annotations',
                             f'instances_{split}2017.json'))
        attrs = {a['ann_id']: a for a in refs['object_attributes']}
        with open(osp.join(root, 'annotations',
                           f'refs(synthetic)_{split}.p'), 'rb') as f:
            pickled = pickle.load(f)
        assert [r['ref_id'] for r in pickled] == \
            [a['ref_id'] for a in refs['annotations']]
        for ref in refs['annotations']:
            assert ref['split'] == split and 1 <= len(ref['sentences']) <= 4
            img_id = ref['image_id']
            img = cv2.imread(osp.join(root, f'{split}2017',
                                      coco.imgs[img_id]['file_name']))
            img = img[..., ::-1]
            objs, index = [], {}
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
                mask = coco.annToMask(ann).astype(bool)
                ys, xs = np.nonzero(mask)
                a = attrs[ann['id']]
                color = _nearest_color(img[mask].mean(0))
                assert color == a['color']  # colour is what the image shows
                index[ann['id']] = len(objs)
                objs.append(dict(
                    shape=coco.cats[ann['category_id']]['name'],
                    color=color, size=a['size'], area=int(mask.sum()),
                    cx=xs.mean(), cy=ys.mean(), regions=a['regions']))
            for s in ref['sentences']:
                assert s['tokens'] == s['raw'].split()
                assert _resolve(s['raw'], objs) == [index[ref['ann_id']]], \
                    (s['raw'], objs)
                kinds.add('sup' if _SENT.match(s['raw'])['sup'] else
                          'rel' if _SENT.match(s['raw'])['rel'] else 'other')
                n_sent += 1
    assert n_sent >= 10
    assert {'sup', 'rel', 'other'} <= kinds


def _tree_bytes(folder):
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = osp.join(dirpath, name)
            out[osp.relpath(path, folder)] = open(path, 'rb').read()
    return out


def test_determinism(root, tmp_path):
    generate_synthetic_coco(str(tmp_path / 'a'), num_train=N_TRAIN,
                            num_val=N_VAL, image_size=SIZE, seed=0)
    generate_synthetic_coco(str(tmp_path / 'b'), num_train=2, num_val=1,
                            image_size=SIZE, seed=1)
    a, ref = _tree_bytes(str(tmp_path / 'a')), _tree_bytes(root)
    a.pop('README.md'), ref.pop('README.md')  # they name --out
    a.pop('meta.json'), ref.pop('meta.json')
    # same seed, same bytes: every image, PNG, json and pickle
    assert sorted(a) == sorted(ref) and all(a[k] == ref[k] for k in a)
    assert not [k for k in a if '.tmp' in k]  # atomic writes left nothing
    b = _tree_bytes(str(tmp_path / 'b'))
    for n in ('instances_train2017.json', 'panoptic_val2017.json',
              'refs_train.json', 'refs(synthetic)_val.p'):
        key = osp.join('annotations', n)
        assert a[key] != b[key]


def test_writes_only_into_its_own_folders(root, tmp_path):
    # a folder of real data (e.g. COCO): refused, nothing touched
    coco = tmp_path / 'coco'
    (coco / 'annotations').mkdir(parents=True)
    real = coco / 'annotations' / 'panoptic_train2017.json'
    real.write_text('{"real": true}')
    with pytest.raises(FileExistsError, match='not empty'):
        generate_synthetic_coco(str(coco), num_train=1, num_val=1,
                                image_size=SIZE)
    assert real.read_text() == '{"real": true}'
    assert sorted(p.name for p in coco.rglob('*')) == [
        'annotations', 'panoptic_train2017.json']
    # a file is refused too
    with pytest.raises(NotADirectoryError):
        generate_synthetic_coco(str(real), num_train=1, num_val=1,
                                image_size=SIZE)
    # an empty folder is claimed (marker) and may then be rewritten
    empty = tmp_path / 'empty'
    empty.mkdir()
    generate_synthetic_coco(str(empty), num_train=1, num_val=1,
                            image_size=SIZE)
    assert (empty / MARKER_FILE).is_file() and is_synthetic_root(str(empty))
    generate_synthetic_coco(str(empty), num_train=2, num_val=1,
                            image_size=SIZE)
    assert json.load(open(empty / 'meta.json'))['counts']['images'][
        'train'] == 2
    # a root of the version-1 generator (meta.json, no marker) is ours too
    (empty / MARKER_FILE).unlink()
    meta = json.load(open(empty / 'meta.json'))
    meta.pop('generator_version')
    (empty / 'meta.json').write_text(json.dumps(meta))
    assert is_synthetic_root(str(empty))
    assert generator_version(str(empty)) == 1
    with pytest.raises(FileNotFoundError, match='stale'):
        check_data_root(str(empty))


def test_make_scene_is_what_is_written(root):
    """The public one-scene function gives the written masks, labels and
    sentences (val split: image ids start after the train images)."""
    refs = _load(root, 'refs_val.json')
    pan = _load(root, 'panoptic_val2017.json')
    cat_names = {c['id']: c['name'] for c in pan['categories']}
    for k, ann in enumerate(pan['annotations']):
        scene = make_scene(SIZE, 0, k, 'val')
        assert isinstance(scene, SyntheticScene)
        ids = _rgb2id(osp.join(root, 'annotations', 'panoptic_val2017',
                               ann['file_name']))
        things = [s for s in ann['segments_info']
                  if cat_names[s['category_id']] in SYNTHETIC_THING_CLASSES]
        assert len(things) == len(scene.objects)
        for seg, obj in zip(things, scene.objects):
            assert cat_names[seg['category_id']] == obj.shape
            assert np.array_equal(ids == seg['id'], obj.mask)
        written = sorted(s['raw'] for r in refs['annotations']
                         if r['image_id'] == ann['image_id']
                         for s in r['sentences'])
        assert sorted(s for _, s in scene.sentences) == written
        assert {n for n, _ in [(SYNTHETIC_STUFF_CLASSES[s], m)
                               for s, m in scene.stuff_masks()]} == {
            cat_names[s['category_id']] for s in ann['segments_info']} - \
            set(SYNTHETIC_THING_CLASSES)


def test_visual_referring_pairs(root):
    total = 0
    for split in SPLITS:
        inst = _load(root, f'instances_{split}2017.json')
        pairs = _load(root, f'visual_refs_{split}.json')['pairs']
        total += len(pairs)
        anns = {a['id']: a for a in inst['annotations']}
        names = {c['id']: c['name'] for c in inst['categories']}
        for p in pairs:
            t, r = anns[p['ann_id']], anns[p['ref_ann_id']]
            assert t['image_id'] == p['image_id'] != p['ref_image_id'] == \
                r['image_id']
            assert names[t['category_id']] == names[r['category_id']] == \
                p['category']
            same = [a for a in inst['annotations'] if a['image_id'] ==
                    p['image_id'] and a['category_id'] == t['category_id']]
            assert len(same) == 1  # the target is the only one of its class
    assert total > 0


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='image_size'):
        generate_synthetic_coco(str(tmp_path), num_train=1, num_val=1,
                                image_size=8)
    with pytest.raises(ValueError, match='num_val'):
        generate_synthetic_coco(str(tmp_path), num_train=1, num_val=0)


def test_check_data_root(root, tmp_path):
    assert check_data_root(root) == root
    missing = str(tmp_path / 'nope')
    with pytest.raises(FileNotFoundError) as e:
        check_data_root(missing)
    assert ('python tools/dataset_converters/make_synthetic_coco.py '
            f'--out {missing}') in str(e.value)
    with pytest.raises(FileNotFoundError, match='make_synthetic_coco.py'):
        check_data_root(root, required=('annotations/nothing.json', ))


def _corrupt(root, tmp_path, name, edit):
    data = _load(root, name)
    edit(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_validate_coco_json(root, tmp_path):
    ann_dir = osp.join(root, 'annotations')
    validate_coco_json(osp.join(ann_dir, 'instances_train2017.json'))
    validate_coco_json(osp.join(ann_dir, 'panoptic_train2017.json'))

    def bad_bbox(d):
        d['annotations'][2]['bbox'] = [1, 2, 3]

    path = _corrupt(root, tmp_path, 'instances_train2017.json', bad_bbox)
    bad_id = _load(root, 'instances_train2017.json')['annotations'][2]['id']
    with pytest.raises(ValueError, match=rf'annotations\[2\] \(id={bad_id}\)'
                       r'.*bbox') as e:
        validate_coco_json(path)
    assert 'instances_train2017.json' in str(e.value)

    def bad_image(d):
        d['annotations'][0]['image_id'] = 999999

    path = _corrupt(root, tmp_path, 'instances_train2017.json', bad_image)
    with pytest.raises(ValueError, match=r'annotations\[0\].*999999'):
        validate_coco_json(path)

    def no_key(d):
        del d['images'][1]['file_name']

    path = _corrupt(root, tmp_path, 'instances_train2017.json', no_key)
    with pytest.raises(ValueError, match=r"images\[1\].*'file_name'"):
        validate_coco_json(path)

    def bad_segment(d):
        d['annotations'][1]['segments_info'][0]['id'] = 7

    path = _corrupt(root, tmp_path, 'panoptic_train2017.json', bad_segment)
    with pytest.raises(ValueError, match=r'annotations\[1\].*\[7\]'):
        validate_coco_json(path, png_dir=osp.join(ann_dir,
                                                  'panoptic_train2017'))
    with pytest.raises(ValueError, match='not valid JSON'):
        (tmp_path / 'broken.json').write_text('{"images": [')
        validate_coco_json(str(tmp_path / 'broken.json'))


# ------------------------------------------------- OpenMMLab data sets
def _build(cfg, scope):
    """Build through mmseem's registry with ``_scope_`` (as a config
    would), leaving the global default scope untouched."""
    from mmengine.registry import DefaultScope

    from mmseem.registry import DATASETS
    def current():
        inst = DefaultScope.get_current_instance()
        return None if inst is None else inst.scope_name

    # mmengine restores a deep copy of the scope table after `_scope_`
    # builds, so compare the scope in force, not the instance
    before = current()
    ds = DATASETS.build(dict(cfg, _scope_=scope))
    assert current() == before
    return ds


def test_mmdet_coco_dataset(root):
    ds = _build(dict(
        type='CocoDataset', data_root=root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        metainfo=dict(classes=SYNTHETIC_THING_CLASSES),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True,
                       with_mask=True)]), 'mmdet')
    assert len(ds) == N_TRAIN
    inst = _load(root, 'instances_train2017.json')
    for k in range(len(ds)):
        out = ds[k]
        n = sum(a['image_id'] == out['img_id'] for a in inst['annotations'])
        assert out['img'].shape == (SIZE, SIZE, 3)
        assert len(out['gt_bboxes']) == len(out['gt_masks']) == n
        assert out['gt_bboxes_labels'].max() < len(SYNTHETIC_THING_CLASSES)
        masks = out['gt_masks'].to_ndarray()
        assert masks.shape == (n, SIZE, SIZE) and masks.sum((1, 2)).min() > 0


def test_mmdet_panoptic_dataset(root):
    for split in SPLITS:
        ds = _build(dict(
            type='CocoPanopticDataset', data_root=root,
            ann_file=f'annotations/panoptic_{split}2017.json',
            data_prefix=dict(img=f'{split}2017/',
                             seg=f'annotations/panoptic_{split}2017/'),
            metainfo=dict(classes=SYNTHETIC_CLASSES,
                          thing_classes=SYNTHETIC_THING_CLASSES,
                          stuff_classes=SYNTHETIC_STUFF_CLASSES),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadPanopticAnnotations', with_bbox=True,
                           with_mask=True, with_seg=True)]), 'mmdet')
        assert len(ds) == (N_TRAIN if split == 'train' else N_VAL)
        for k in range(len(ds)):
            out = ds[k]
            stem = osp.splitext(osp.basename(out['img_path']))[0]
            sem = cv2.imread(
                osp.join(root, 'annotations', f'panoptic_semseg_{split}2017',
                         stem + '.png'), cv2.IMREAD_UNCHANGED)
            # mmdet's label order == the semantic PNG's label order
            assert np.array_equal(out['gt_seg_map'], sem)
            assert len(out['gt_masks']) == len(out['gt_bboxes']) >= 1
            assert out['gt_bboxes_labels'].max() < len(
                SYNTHETIC_THING_CLASSES)


def test_mmseg_dataset(root):
    ds = _build(dict(
        type='BaseSegDataset', data_root=root,
        data_prefix=dict(img_path='val2017',
                         seg_map_path='annotations/panoptic_semseg_val2017'),
        img_suffix='.jpg', seg_map_suffix='.png',
        metainfo=dict(classes=SYNTHETIC_CLASSES, palette=SYNTHETIC_PALETTE),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations')]), 'mmseg')
    assert len(ds) == N_VAL
    out = ds[0]
    assert out['img'].shape == (SIZE, SIZE, 3)
    assert out['gt_seg_map'].shape == (SIZE, SIZE)
    labels = set(np.unique(out['gt_seg_map']).tolist())
    assert labels <= set(range(len(SYNTHETIC_CLASSES))) and len(labels) >= 2


def test_mmdet_refcoco_dataset(root):
    refs = _load(root, 'refs_val.json')
    ds = _build(dict(
        type='RefCocoDataset', data_root=root,
        ann_file='annotations/instances_val2017.json',
        split_file='annotations/refs(synthetic)_val.p', split='val',
        data_prefix=dict(img_path='val2017/'), text_mode='original'), 'mmdet')
    assert len(ds) == len(refs['images'])
    texts = sorted(t for k in range(len(ds)) for t in ds[k]['text'])
    assert texts == sorted(s['raw'] for a in refs['annotations']
                           for s in a['sentences'])
    assert all(osp.isfile(ds[k]['img_path']) for k in range(len(ds)))


def test_make_synthetic_coco_cli(tmp_path):
    """The converter refuses a folder of real data with a clear message and
    skips the work with --if-stale when the set is current."""
    import subprocess
    import sys
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    tool = osp.join(repo, 'tools', 'dataset_converters',
                    'make_synthetic_coco.py')
    env = dict(os.environ, PYTHONPATH=repo)

    def run(*args):
        return subprocess.run([sys.executable, tool, *args], env=env,
                              capture_output=True, text=True, timeout=300)

    real = tmp_path / 'coco'
    real.mkdir()
    (real / 'instances.json').write_text('{}')
    proc = run('--out', str(real), '--num-train', '1', '--num-val', '1',
               '--size', '32')
    assert proc.returncode != 0 and 'not empty' in proc.stderr
    assert sorted(p.name for p in real.iterdir()) == ['instances.json']
    out = str(tmp_path / 'syn')
    args = ('--out', out, '--num-train', '1', '--num-val', '1', '--size',
            '32')
    assert run(*args).returncode == 0
    proc = run(*args, '--if-stale')
    assert proc.returncode == 0 and 'is current' in proc.stdout
    proc = run('--out', out, '--num-train', '2', '--num-val', '1', '--size',
               '32', '--if-stale')  # other arguments: regenerated
    assert proc.returncode == 0 and '"train": 2' in proc.stdout


def test_objects_of_an_image_have_distinct_colours():
    """Version 3: no two things of one image share a colour (on v2 two
    same-coloured objects of one class looked alike everywhere but in
    position, which a small model cannot learn to tell apart); shapes
    still repeat, so sentences keep relations and superlatives."""
    repeated_shape = False
    for split in ('train', 'val'):
        for k in range(40):
            scene = make_scene(128, 0, k, split)
            colors = [o.color for o in scene.objects]
            assert len(set(colors)) == len(colors), (split, k, colors)
            shapes = [o.shape for o in scene.objects]
            repeated_shape |= len(set(shapes)) < len(shapes)
    assert repeated_shape
