"""Write the synthetic set in COCO / Mask2Former / SEEM formats.

mmseem-specific, not in SEEM/mmdet/mmseg: SEEM trains on COCO panoptic
(+ semantic PNGs), COCO instances and RefCOCO-style referring sentences.
:func:`generate_synthetic_coco` writes a small set in exactly those formats
so that every config, test and demo runs out of the box, on CPU, without
downloading anything. Layout under ``out_dir``::

    .mmseem_synthetic                                # marker (see below)
    train2017/*.jpg  val2017/*.jpg
    annotations/instances_{train,val}2017.json      # things, polygons
    annotations/panoptic_{train,val}2017.json       # things + stuff
    annotations/panoptic_{train,val}2017/*.png      # id = R + 256G + 256^2B
    annotations/panoptic_semseg_{train,val}2017/*.png  # label 0..K-1, 255
    annotations/refs_{train,val}.json               # SEEM grounding format
    annotations/refs(synthetic)_{train,val}.p        # mmdet RefCocoDataset
    annotations/visual_refs_{train,val}.json        # visual referring pairs
    README.md  meta.json

The generator never overwrites user data: it writes only into a missing or
empty folder, or one holding its marker file (or the ``meta.json`` of an
older mmseem generator); every file is written to a temporary name and
renamed. Only numpy, OpenCV, json and pickle are used.
"""
import json
import os
import os.path as osp
import pickle
import tempfile
import time

import cv2
import numpy as np

from .constants import (GENERATE_COMMAND, GENERATOR_VERSION, MARKER_FILE,
                        SYNTHETIC_COLORS, SYNTHETIC_PALETTE,
                        SYNTHETIC_SIZES, SYNTHETIC_STUFF_CLASSES,
                        SYNTHETIC_STUFF_IDS, SYNTHETIC_THING_CLASSES,
                        SYNTHETIC_THING_IDS)
from .readme import readme_text
from .scene import make_scene

_SPLITS = ('train', 'val')


# ----------------------------------------------------------- safe writing
def _atomic_write(path, data: bytes):
    """Write ``data`` to ``path`` through a temporary file + rename."""
    folder = osp.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _dump_json(obj, path, **kw):
    kw = kw or dict(separators=(',', ':'))
    _atomic_write(path, json.dumps(obj, **kw).encode())


def _write_image(path, array, *params):
    ok, buf = cv2.imencode(osp.splitext(path)[1], array, list(params))
    if not ok:
        raise OSError(f'OpenCV could not encode {path}')
    _atomic_write(path, buf.tobytes())


def is_synthetic_root(out_dir) -> bool:
    """Whether ``out_dir`` was written by this generator (marker file, or
    the ``meta.json`` of a version-1 generator, which had no marker)."""
    if osp.isfile(osp.join(out_dir, MARKER_FILE)):
        return True
    try:
        with open(osp.join(out_dir, 'meta.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    return (isinstance(meta, dict) and 'generation_args' in meta
            and meta.get('thing_classes') == list(SYNTHETIC_THING_CLASSES))


def _claim(out_dir):
    """Create ``out_dir`` or check it is empty / ours, then mark it."""
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'--out {out_dir!r} is a file, not a '
                                 'folder')
    if osp.isdir(out_dir) and os.listdir(out_dir) and \
            not is_synthetic_root(out_dir):
        raise FileExistsError(
            f'refusing to write the synthetic set into {out_dir!r}: the '
            f'folder is not empty and was not written by this generator (no '
            f'{MARKER_FILE} file), so it may hold real data (e.g. COCO). '
            'Give an empty or new folder with --out.')
    os.makedirs(out_dir, exist_ok=True)
    _atomic_write(osp.join(out_dir, MARKER_FILE),
                  f'written by mmseem {GENERATE_COMMAND}, generator '
                  f'version {GENERATOR_VERSION}\n'.encode())


# ------------------------------------------------------------- formatting
def _bbox(mask):
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]


def _polygons(mask):
    """COCO polygons that rasterise (pycocotools) back to ``mask`` exactly:
    contours of the 2x nearest-upsampled mask, mapped back to pixel-edge
    coordinates (plain ``findContours`` runs through pixel centres and loses
    ~10% of the area)."""
    up = cv2.resize(mask.astype(np.uint8), None, fx=2, fy=2,
                    interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(up, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return [[float(v) for v in (c.reshape(-1) / 2 + 0.25)]
            for c in contours]


def _segment_ids(rng, n):
    """Distinct random panoptic ids (RGB colours, never 0 = void)."""
    ids, out = set(), []
    while len(out) < n:
        rgb = rng.integers(1, 256, 3)
        sid = int(rgb[0] + 256 * rgb[1] + 256 * 256 * rgb[2])
        if sid not in ids:
            ids.add(sid)
            out.append(sid)
    return out


def _id2rgb(id_map):
    return np.stack([id_map % 256, id_map // 256 % 256,
                     id_map // 65536 % 256], -1).astype(np.uint8)


def visual_ref_pairs(objects_by_image):
    """Deterministic visual-referring pairs of one split.

    ``objects_by_image``: ``[(image_id, [(ann_id, label, area), ...])]`` in
    image order. For each target object whose class occurs once in its
    image, the reference is the largest object of that class in the next
    image (cyclically) that holds the class.
    """
    pairs = []
    n = len(objects_by_image)
    for i, (img_id, objs) in enumerate(objects_by_image):
        labels = [o[1] for o in objs]
        for ann_id, label, _ in objs:
            if labels.count(label) != 1:
                continue
            for step in range(1, n):
                ref_img, ref_objs = objects_by_image[(i + step) % n]
                same = [o for o in ref_objs if o[1] == label]
                if same:
                    ref = max(same, key=lambda o: (o[2], -o[0]))
                    pairs.append(dict(
                        image_id=img_id, ann_id=ann_id,
                        ref_image_id=ref_img, ref_ann_id=ref[0],
                        category=SYNTHETIC_THING_CLASSES[label]))
                    break
    return pairs


def _categories():
    inst = [dict(id=cid, name=n, supercategory='shape')
            for cid, n in zip(SYNTHETIC_THING_IDS, SYNTHETIC_THING_CLASSES)]
    pan = [dict(c, isthing=1, color=list(SYNTHETIC_PALETTE[k]))
           for k, c in enumerate(inst)]
    pan += [dict(id=cid, name=n, supercategory='background', isthing=0,
                 color=list(SYNTHETIC_PALETTE[len(inst) + k]))
            for k, (cid, n) in enumerate(
                zip(SYNTHETIC_STUFF_IDS, SYNTHETIC_STUFF_CLASSES))]
    return inst, pan


# ------------------------------------------------------------------ main
def generate_synthetic_coco(out_dir='data/synthetic', num_train=800,
                            num_val=60, image_size=128, seed=0):
    """Write the synthetic COCO-format set under ``out_dir``.

    Args:
        out_dir (str): output root: a new or empty folder, or one this
            generator wrote before (its files are replaced).
        num_train / num_val (int): images per split (>= 1 each).
        image_size (int): side of the square images, >= 32.
        seed (int): the same seed gives byte-identical files.

    Returns:
        dict: summary (paths, image / instance / ref / sentence counts).
    """
    for name, v, lo in (('num_train', num_train, 1), ('num_val', num_val, 1),
                        ('image_size', image_size, 32)):
        if not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f'{name} must be an int >= {lo}, got {v!r}')
    t0 = time.time()
    _claim(out_dir)
    ann_dir = osp.join(out_dir, 'annotations')
    inst_cats, pan_cats = _categories()
    info = dict(description='mmseem synthetic shapes (COCO format)',
                version=str(GENERATOR_VERSION), year=2024,
                contributor='mmseem', url='', date_created='')
    licenses = [dict(id=1, name='CC0 (generated data)', url='')]
    counts = dict(images={}, instances={}, refs={}, sentences={},
                  visual_refs={})
    ids = dict(img=1, ann=1, ref=1, sent=1)
    n_thing = len(SYNTHETIC_THING_CLASSES)
    for split in _SPLITS:
        n_img = num_train if split == 'train' else num_val
        img_dir = osp.join(out_dir, f'{split}2017')
        pan_dir = osp.join(ann_dir, f'panoptic_{split}2017')
        sem_dir = osp.join(ann_dir, f'panoptic_semseg_{split}2017')
        for d in (img_dir, pan_dir, sem_dir):
            os.makedirs(d, exist_ok=True)
        images, inst_anns, pan_anns, refs, ref_anns, attrs, by_image = \
            [], [], [], [], [], [], []
        for k in range(n_img):
            scene = make_scene(image_size, seed, k, split)
            objs = scene.objects
            rng = np.random.default_rng([seed, _SPLITS.index(split), k, 1])
            img_id = ids['img']
            ids['img'] += 1
            stem = f'{img_id:012d}'
            image = dict(id=img_id, file_name=stem + '.jpg',
                         height=image_size, width=image_size, license=1)
            images.append(image)
            _write_image(osp.join(img_dir, stem + '.jpg'),
                         scene.image[..., ::-1], cv2.IMWRITE_JPEG_QUALITY, 95)
            sem = np.full((image_size, image_size), 255, np.uint8)
            id_map = np.zeros((image_size, image_size), np.int64)
            seg_ids = _segment_ids(rng, len(objs) + 3)
            segments = []
            for s, vis in scene.stuff_masks():
                sid = seg_ids[len(objs) + s]
                id_map[vis] = sid
                sem[vis] = n_thing + s
                segments.append(dict(id=sid,
                                     category_id=SYNTHETIC_STUFF_IDS[s],
                                     iscrowd=0, bbox=_bbox(vis),
                                     area=int(vis.sum())))
            obj_anns = []
            for j, o in enumerate(objs):
                area, bbox = int(o.mask.sum()), _bbox(o.mask)
                id_map[o.mask] = seg_ids[j]
                sem[o.mask] = o.label
                ann = dict(id=ids['ann'], image_id=img_id,
                           category_id=SYNTHETIC_THING_IDS[o.label],
                           segmentation=_polygons(o.mask), area=area,
                           bbox=bbox, iscrowd=0)
                ids['ann'] += 1
                obj_anns.append(ann)
                segments.insert(j, dict(
                    id=seg_ids[j], category_id=ann['category_id'],
                    iscrowd=0, bbox=bbox, area=area))
                attrs.append(dict(ann_id=ann['id'], image_id=img_id,
                                  **o.attributes(scene.layout)))
            inst_anns += obj_anns
            by_image.append((img_id, [(a['id'], o.label, a['area'])
                                      for a, o in zip(obj_anns, objs)]))
            _write_image(osp.join(pan_dir, stem + '.png'),
                         _id2rgb(id_map)[..., ::-1])
            _write_image(osp.join(sem_dir, stem + '.png'), sem)
            pan_anns.append(dict(image_id=img_id, file_name=stem + '.png',
                                 segments_info=segments))
            by_obj = {}
            for j, raw in scene.sentences:
                by_obj.setdefault(j, []).append(dict(
                    raw=raw, sent=raw, tokens=raw.split(),
                    sent_id=ids['sent']))
                ids['sent'] += 1
            for j, sents in by_obj.items():
                ref = dict(ref_id=ids['ref'], ann_id=obj_anns[j]['id'],
                           image_id=img_id, split=split, sentences=sents,
                           sent_ids=[s['sent_id'] for s in sents],
                           category_id=obj_anns[j]['category_id'],
                           file_name=image['file_name'])
                ids['ref'] += 1
                refs.append(ref)
                ref_anns.append(dict(obj_anns[j], **ref))
        _dump_json(dict(info=info, licenses=licenses, images=images,
                        annotations=inst_anns, categories=inst_cats),
                   osp.join(ann_dir, f'instances_{split}2017.json'))
        _dump_json(dict(info=info, licenses=licenses, images=images,
                        annotations=pan_anns, categories=pan_cats),
                   osp.join(ann_dir, f'panoptic_{split}2017.json'))
        ref_img_ids = {r['image_id'] for r in refs}
        _dump_json(dict(info=info, images=[i for i in images
                                           if i['id'] in ref_img_ids],
                        annotations=ref_anns, categories=inst_cats,
                        object_attributes=attrs),
                   osp.join(ann_dir, f'refs_{split}.json'))
        _atomic_write(osp.join(ann_dir, f'refs(synthetic)_{split}.p'),
                      pickle.dumps(refs, protocol=4))
        pairs = visual_ref_pairs(by_image)
        _dump_json(dict(info=info, pairs=pairs),
                   osp.join(ann_dir, f'visual_refs_{split}.json'))
        counts['images'][split] = len(images)
        counts['instances'][split] = len(inst_anns)
        counts['refs'][split] = len(refs)
        counts['sentences'][split] = sum(len(r['sentences']) for r in refs)
        counts['visual_refs'][split] = len(pairs)
    args = dict(num_train=num_train, num_val=num_val, image_size=image_size,
                seed=seed)
    meta = dict(generator_version=GENERATOR_VERSION,
                thing_classes=list(SYNTHETIC_THING_CLASSES),
                stuff_classes=list(SYNTHETIC_STUFF_CLASSES),
                classes=list(SYNTHETIC_THING_CLASSES + SYNTHETIC_STUFF_CLASSES),
                thing_category_ids=list(SYNTHETIC_THING_IDS),
                stuff_category_ids=list(SYNTHETIC_STUFF_IDS),
                palette=[list(p) for p in SYNTHETIC_PALETTE],
                colors=list(SYNTHETIC_COLORS), sizes=list(SYNTHETIC_SIZES),
                generation_args=args, counts=counts,
                command=f'{GENERATE_COMMAND} --out {out_dir} --num-train '
                f'{num_train} --num-val {num_val} --size {image_size} '
                f'--seed {seed}')
    _dump_json(meta, osp.join(out_dir, 'meta.json'), indent=2)
    _atomic_write(osp.join(out_dir, 'README.md'), readme_text(meta).encode())
    return dict(out_dir=out_dir, seconds=round(time.time() - t0, 2), **meta)
