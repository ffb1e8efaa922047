"""Embedded default data set: a deterministic synthetic COCO look-alike.

mmseem-specific, not in SEEM/mmdet/mmseg: SEEM trains on COCO panoptic
(+ semantic PNGs), COCO instances and RefCOCO-style referring sentences. This
module writes a small set in exactly those formats so that every config,
test and demo runs out of the box, on CPU, without downloading anything.

Scenes: textured "stuff" (``sky`` top band, ``grass`` bottom band, ``wall``
in between, each filled with noise / gradient / stripes) under several
overlapping "things" (shapes drawn back to front). Thing categories are the
shapes; colour and size only appear in the referring sentences, which are
verified to single out exactly one object (see :func:`resolve_expression`).

Layout under ``out_dir`` (COCO / Mask2Former / SEEM names)::

    train2017/*.jpg  val2017/*.jpg
    annotations/instances_{train,val}2017.json      # things, polygons
    annotations/panoptic_{train,val}2017.json       # things + stuff
    annotations/panoptic_{train,val}2017/*.png      # id = R + 256G + 256^2B
    annotations/panoptic_semseg_{train,val}2017/*.png  # label 0..K-1, 255
    annotations/refs_{train,val}.json               # SEEM grounding format
    annotations/refs(synthetic)_{train,val}.p        # mmdet RefCocoDataset
    README.md  meta.json

Only numpy, OpenCV, json and pickle are used, so the generator runs before
the OpenMMLab stack is installed.
"""
import json
import os
import os.path as osp
import pickle
import time

import cv2
import numpy as np

#: Thing categories (the shapes), in label order 0..4.
SYNTHETIC_THING_CLASSES = ('circle', 'square', 'triangle', 'star', 'cross')
#: Stuff categories, labels 5..7 (things first, as mmdet's
#: ``CocoPanopticDataset`` and the COCO panoptic category list order them).
SYNTHETIC_STUFF_CLASSES = ('sky', 'grass', 'wall')
SYNTHETIC_CLASSES = SYNTHETIC_THING_CLASSES + SYNTHETIC_STUFF_CLASSES
#: Visualisation colour (RGB) per class, same order as ``SYNTHETIC_CLASSES``.
SYNTHETIC_PALETTE = [(220, 20, 60), (0, 130, 200), (255, 160, 0),
                     (145, 30, 180), (70, 240, 240), (135, 206, 235),
                     (60, 150, 60), (150, 130, 110)]
#: COCO-style category ids: things 1.., stuff from 101 (non-contiguous on
#: purpose, like COCO, so that code mapping ids to labels is exercised).
SYNTHETIC_THING_IDS = tuple(range(1, len(SYNTHETIC_THING_CLASSES) + 1))
SYNTHETIC_STUFF_IDS = tuple(
    range(101, 101 + len(SYNTHETIC_STUFF_CLASSES)))
#: ``metainfo`` for mmdet/mmseg datasets built over the synthetic set.
SYNTHETIC_METAINFO = dict(
    classes=SYNTHETIC_CLASSES,
    thing_classes=SYNTHETIC_THING_CLASSES,
    stuff_classes=SYNTHETIC_STUFF_CLASSES,
    palette=SYNTHETIC_PALETTE)

#: Object colours (RGB) named in the sentences.
SYNTHETIC_COLORS = {
    'red': (215, 35, 35),
    'green': (40, 190, 60),
    'blue': (35, 75, 220),
    'yellow': (235, 215, 35),
    'purple': (150, 55, 195),
}
#: Size words -> radius range as a fraction of the image side.
SYNTHETIC_SIZES = {'small': (0.07, 0.11), 'large': (0.17, 0.24)}
#: Words used for each relation / superlative (first one is canonical).
REFERRING_VOCAB = {
    'small': ('small', 'little'),
    'large': ('large', 'big'),
    'left': ('left of', 'to the left of'),
    'right': ('right of', 'to the right of'),
    'above': ('above', 'over'),
    'below': ('below', 'under'),
    'largest': ('largest', 'biggest'),
    'smallest': ('smallest',),
    'leftmost': ('leftmost',),
    'rightmost': ('rightmost',),
    'topmost': ('topmost', 'highest'),
    'bottommost': ('bottommost', 'lowest'),
    'sky': ('in the sky',),
    'grass': ('on the grass',),
    'wall': ('in front of the wall',),
}
GENERATE_COMMAND = 'python tools/dataset_converters/make_synthetic_coco.py'
DEFAULT_REQUIRED = ('annotations/instances_train2017.json',
                    'annotations/instances_val2017.json',
                    'annotations/panoptic_train2017.json',
                    'annotations/panoptic_val2017.json')

_SPLITS = ('train', 'val')
_MIN_VISIBLE = 0.5  # an occluded object keeps >= half of its pixels
_AREA_RATIO = 1.5  # largest / smallest must beat the runner-up by this
_POS_MARGIN = 0.06  # relations need this gap (fraction of the side)
_REGION_FRAC = 0.8  # "in the sky": >= 80% of the object over the sky


# --------------------------------------------------------------- textures
def _texture(rng, h, w, base, amp):
    """A ``(h, w, 3)`` float texture: noise, gradient or stripes."""
    kind = rng.integers(3)
    base = np.asarray(base, np.float32) + rng.uniform(-20, 20, 3)
    if kind == 0:  # low-frequency noise
        cells = int(rng.integers(3, 9))
        small = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
        pattern = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    else:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        theta = rng.uniform(0, np.pi)
        proj = (xx * np.cos(theta) + yy * np.sin(theta)) / max(h, w)
        if kind == 1:  # linear gradient
            pattern = (proj - proj.mean())[..., None] * 2
        else:  # stripes
            freq = rng.uniform(3, 10)
            pattern = np.sin(2 * np.pi * freq * proj)[..., None]
        pattern = pattern * rng.uniform(0.5, 1.0, 3).astype(np.float32)
    grain = rng.normal(0, 0.15, (h, w, 1)).astype(np.float32)
    return base + amp * (pattern + grain)


def _stuff_base(rng, name):
    if name == 'sky':
        return (110 + rng.integers(60), 170 + rng.integers(50), 235), 25
    if name == 'grass':
        return (60 + rng.integers(40), 120 + rng.integers(50),
                40 + rng.integers(30)), 30
    grey = 120 + rng.integers(60)
    return (grey + 15, grey, grey - 20 + rng.integers(30)), 25


def _stuff_layout(rng, size):
    """Label map ``(size, size)`` of stuff indices (0 sky, 1 grass, 2 wall)
    with wavy band boundaries."""
    xs = np.arange(size, dtype=np.float32)
    rows = np.arange(size, dtype=np.float32)[:, None]
    layout = np.full((size, size), 2, np.int64)

    def wave():
        amp = rng.uniform(0, 0.05) * size
        freq = rng.uniform(0.5, 2.5)
        return amp * np.sin(2 * np.pi * freq * xs / size
                            + rng.uniform(0, 2 * np.pi))

    if rng.random() < 0.8:
        top = rng.uniform(0.15, 0.35) * size + wave()
        layout[rows < top[None]] = 0
    if rng.random() < 0.8:
        bottom = size - rng.uniform(0.15, 0.35) * size + wave()
        layout[rows >= bottom[None]] = 1
    return layout


# ----------------------------------------------------------------- shapes
def _shape_mask(shape, cx, cy, r, angle, size):
    mask = np.zeros((size, size), np.uint8)
    if shape == 'circle':
        cv2.circle(mask, (int(round(cx)), int(round(cy))), int(round(r)), 1,
                   -1)
        return mask.astype(bool)
    if shape == 'square':
        pts = [(np.pi / 4 + k * np.pi / 2, r) for k in range(4)]
    elif shape == 'triangle':
        pts = [(-np.pi / 2 + k * 2 * np.pi / 3, r * 1.15) for k in range(3)]
    elif shape == 'star':
        pts = [(-np.pi / 2 + k * np.pi / 5, r * 1.15 if k % 2 == 0 else
                r * 0.48) for k in range(10)]
    else:  # cross: 12-gon with arm half-width r / 3
        a, b = r / 3, r
        xy = [(a, b), (a, a), (b, a), (b, -a), (a, -a), (a, -b), (-a, -b),
              (-a, -a), (-b, -a), (-b, a), (-a, a), (-a, b)]
        pts = [(np.arctan2(y, x), np.hypot(x, y)) for x, y in xy]
    poly = np.array([(cx + d * np.cos(t + angle), cy + d * np.sin(t + angle))
                     for t, d in pts])
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def _has_hole(mask):
    contours, hierarchy = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return hierarchy is not None and bool((hierarchy[0][:, 3] >= 0).any())


def _place_objects(rng, size, num_objects):
    """Sample objects back to front; a placement is rejected when it would
    hide more than half of an earlier object or punch a hole in it (COCO
    polygons cannot describe holes)."""
    shapes = rng.choice(len(SYNTHETIC_THING_CLASSES),
                        size=int(rng.integers(2, 4)), replace=False)
    objs = []
    for _ in range(num_objects):
        shape = SYNTHETIC_THING_CLASSES[int(rng.choice(shapes))]
        color = list(SYNTHETIC_COLORS)[int(rng.integers(
            len(SYNTHETIC_COLORS)))]
        size_word = 'small' if rng.random() < 0.55 else 'large'
        lo, hi = SYNTHETIC_SIZES[size_word]
        for _try in range(20):
            r = rng.uniform(lo, hi) * size
            if objs and rng.random() < 0.5:  # encourage overlap
                ref = objs[int(rng.integers(len(objs)))]
                t = rng.uniform(0, 2 * np.pi)
                d = (ref['radius'] + r) * rng.uniform(0.5, 1.0)
                cx, cy = ref['cx'] + d * np.cos(t), ref['cy'] + d * np.sin(t)
            else:
                cx, cy = rng.uniform(0.6 * r, size - 0.6 * r, 2)
            if not (0.6 * r <= cx <= size - 0.6 * r
                    and 0.6 * r <= cy <= size - 0.6 * r):
                continue
            angle = rng.uniform(-0.35, 0.35)
            full = _shape_mask(shape, cx, cy, r, angle, size)
            if full.sum() < 12:
                continue
            ok = True
            for o in objs:
                vis = o['mask'] & ~full
                if vis.sum() < _MIN_VISIBLE * o['full_area'] or _has_hole(vis):
                    ok = False
                    break
            if ok:
                for o in objs:
                    o['mask'] = o['mask'] & ~full
                objs.append(dict(shape=shape, color=color, size=size_word,
                                 cx=cx, cy=cy, radius=r, angle=angle,
                                 mask=full, full_area=int(full.sum())))
                break
    return objs


def _render(rng, size, layout, objs):
    img = np.zeros((size, size, 3), np.float32)
    for k, name in enumerate(SYNTHETIC_STUFF_CLASSES):
        region = layout == k
        if region.any():
            base, amp = _stuff_base(rng, name)
            img[region] = _texture(rng, size, size, base, amp)[region]
    for o in objs:  # back to front; o['mask'] is already the visible part
        base = np.asarray(SYNTHETIC_COLORS[o['color']], np.float32)
        tex = _texture(rng, size, size, base, 12)
        img[o['mask']] = tex[o['mask']]
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- geometry
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


# --------------------------------------------------- referring expressions
def _np_matches(obj, desc):
    return all(obj[k] == v for k, v in desc.items())


def resolve_expression(expr, objects, image_size):
    """Indices of ``objects`` that a structured expression refers to.

    ``expr``: ``dict(desc={'shape':..,'color':..,'size':..}, kind=..)`` with
    kind ``'attr'``, ``'superlative'`` (+ ``sup``), ``'relation'`` (+ ``rel``,
    ``landmark`` desc) or ``'region'`` (+ ``region`` stuff name). ``objects``
    carry ``shape, color, size, area, cx, cy, regions`` (fraction of the
    object over each stuff class). Ambiguous cases (gaps under the margins)
    resolve to *several* indices (objects inside a margin count as maybe),
    and to none when no object clearly fits, so a unique answer is safe.
    """
    cand = [i for i, o in enumerate(objects) if _np_matches(o, expr['desc'])]
    kind = expr['kind']
    if kind == 'attr':
        return cand
    if kind == 'superlative':
        sup = expr['sup']
        if len(cand) < 2:
            return []
        if sup in ('largest', 'smallest'):
            key = [objects[i]['area'] for i in cand]
            order = np.argsort(key)
            if sup == 'largest':
                order = order[::-1]
            first, second = key[order[0]], key[order[1]]
            ratio = max(first, second) / max(min(first, second), 1)
            return [cand[order[0]]] if ratio >= _AREA_RATIO else cand
        axis, sign = {'leftmost': ('cx', 1), 'rightmost': ('cx', -1),
                      'topmost': ('cy', 1), 'bottommost': ('cy', -1)}[sup]
        key = [sign * objects[i][axis] for i in cand]
        order = np.argsort(key)
        gap = key[order[1]] - key[order[0]]
        return [cand[order[0]]] if gap >= _POS_MARGIN * image_size else cand
    if kind == 'relation':
        land = [i for i, o in enumerate(objects)
                if _np_matches(o, expr['landmark'])]
        if len(land) != 1:
            return cand
        lm = objects[land[0]]
        axis, sign = {'left': ('cx', -1), 'right': ('cx', 1),
                      'above': ('cy', -1), 'below': ('cy', 1)}[expr['rel']]
        m = _POS_MARGIN * image_size
        hits, unsure = [], []
        for i in cand:
            if i == land[0]:
                continue
            d = sign * (objects[i][axis] - lm[axis])
            if d >= m:
                hits.append(i)
            elif d > -m:
                unsure.append(i)
        return hits + unsure if hits else []
    if kind == 'region':
        reg = expr['region']
        hits = [i for i in cand
                if objects[i]['regions'].get(reg, 0) >= _REGION_FRAC]
        unsure = [i for i in cand if i not in hits
                  and objects[i]['regions'].get(reg, 0) > 1 - _REGION_FRAC]
        return hits + unsure if hits else []
    raise ValueError(f'unknown expression kind {kind!r}')


def _phrase(rng, desc):
    words = []
    if 'size' in desc:
        syn = REFERRING_VOCAB[desc['size']]
        words.append(syn[int(rng.integers(len(syn)))])
    if 'color' in desc:
        words.append(desc['color'])
    words.append(desc['shape'])
    return ' '.join(words)


def _word(rng, key):
    syn = REFERRING_VOCAB[key]
    return syn[int(rng.integers(len(syn)))]


def _sentence(rng, expr):
    if expr['kind'] == 'attr':
        return f"the {_phrase(rng, expr['desc'])}"
    if expr['kind'] == 'superlative':
        return f"the {_word(rng, expr['sup'])} {_phrase(rng, expr['desc'])}"
    if expr['kind'] == 'relation':
        return (f"the {_phrase(rng, expr['desc'])} {_word(rng, expr['rel'])}"
                f" the {_phrase(rng, expr['landmark'])}")
    return f"the {_phrase(rng, expr['desc'])} {_word(rng, expr['region'])}"


def _descs(obj, with_shape_only):
    out = [dict(shape=obj['shape'], color=obj['color']),
           dict(shape=obj['shape'], size=obj['size']),
           dict(shape=obj['shape'], size=obj['size'], color=obj['color'])]
    if with_shape_only:
        out.insert(0, dict(shape=obj['shape']))
    return out


def _candidate_exprs(idx, objects, size):
    """All expressions that resolve to exactly ``[idx]``; a bare shape name
    is never a target phrase, so every sentence needs an attribute, a
    relation or a superlative."""
    target = objects[idx]
    exprs = []
    for d in _descs(target, False):
        exprs.append(dict(kind='attr', desc=d))
    for d in _descs(target, True)[:2]:
        for sup in ('largest', 'smallest', 'leftmost', 'rightmost',
                    'topmost', 'bottommost'):
            exprs.append(dict(kind='superlative', desc=d, sup=sup))
        for reg in SYNTHETIC_STUFF_CLASSES:
            exprs.append(dict(kind='region', desc=d, region=reg))
        for j, lm in enumerate(objects):
            if j == idx:
                continue
            for ld in _descs(lm, True)[:2]:
                for rel in ('left', 'right', 'above', 'below'):
                    exprs.append(dict(kind='relation', desc=d, rel=rel,
                                      landmark=ld))
    good = []
    seen = set()
    for e in exprs:
        if resolve_expression(e, objects, size) != [idx]:
            continue
        # a superlative / relation / region is only used when the target
        # phrase alone is ambiguous (so it is needed to resolve the object)
        if e['kind'] != 'attr' and len(resolve_expression(
                dict(kind='attr', desc=e['desc']), objects, size)) < 2:
            continue
        key = json.dumps(e, sort_keys=True)  # landmarks may repeat
        if key not in seen:
            seen.add(key)
            good.append(e)
    return good


def _make_refs(rng, objects, size):
    """``{object index: [structured expressions]}`` with 1-4 each."""
    refs = {}
    for i in range(len(objects)):
        cands = _candidate_exprs(i, objects, size)
        if not cands:
            continue
        by_kind = {}
        for e in cands:
            by_kind.setdefault(e['kind'], []).append(e)
        picked = []
        kinds = sorted(by_kind)
        rng.shuffle(kinds)
        want = int(rng.integers(1, 5))
        while len(picked) < want and any(by_kind.values()):
            for k in kinds:
                if by_kind[k] and len(picked) < want:
                    pool = by_kind[k]
                    picked.append(pool.pop(int(rng.integers(len(pool)))))
        refs[i] = picked
    return refs


# ----------------------------------------------------------------- writing
def _dump_json(obj, path):
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))


def _make_image(rng, size):
    layout = _stuff_layout(rng, size)
    objs = _place_objects(rng, size, int(rng.integers(3, 7)))
    img = _render(rng, size, layout, objs)
    return layout, objs, img


def _segment_ids(rng, n):
    """Distinct random panoptic ids (RGB colours, never 0 = void)."""
    ids = set()
    out = []
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


def generate_synthetic_coco(out_dir='data/synthetic', num_train=240,
                            num_val=60, image_size=128, seed=0):
    """Write the synthetic COCO-format set under ``out_dir``.

    Args:
        out_dir (str): output root (created; existing files are replaced).
        num_train / num_val (int): images per split (>= 1 each).
        image_size (int): side of the square images, >= 32.
        seed (int): the same seed gives byte-identical annotation files.

    Returns:
        dict: summary (paths, image / instance / ref / sentence counts).
    """
    for name, v, lo in (('num_train', num_train, 1), ('num_val', num_val, 1),
                        ('image_size', image_size, 32)):
        if not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f'{name} must be an int >= {lo}, got {v!r}')
    t0 = time.time()
    ann_dir = osp.join(out_dir, 'annotations')
    inst_cats = [dict(id=cid, name=n, supercategory='shape')
                 for cid, n in zip(SYNTHETIC_THING_IDS,
                                   SYNTHETIC_THING_CLASSES)]
    pan_cats = [dict(c, isthing=1, color=list(SYNTHETIC_PALETTE[k]))
                for k, c in enumerate(inst_cats)]
    pan_cats += [dict(id=cid, name=n, supercategory='background', isthing=0,
                      color=list(SYNTHETIC_PALETTE[len(inst_cats) + k]))
                 for k, (cid, n) in enumerate(
                     zip(SYNTHETIC_STUFF_IDS, SYNTHETIC_STUFF_CLASSES))]
    info = dict(description='mmseem synthetic shapes (COCO format)',
                version='1.0', year=2024, contributor='mmseem',
                url='', date_created='')
    licenses = [dict(id=1, name='CC0 (generated data)', url='')]
    counts = dict(images={}, instances={}, refs={}, sentences={})
    next_img_id, next_ann_id, next_ref_id, next_sent_id = 1, 1, 1, 1
    for split_idx, split in enumerate(_SPLITS):
        n_img = num_train if split == 'train' else num_val
        img_dir = osp.join(out_dir, f'{split}2017')
        pan_dir = osp.join(ann_dir, f'panoptic_{split}2017')
        sem_dir = osp.join(ann_dir, f'panoptic_semseg_{split}2017')
        for d in (img_dir, pan_dir, sem_dir):
            os.makedirs(d, exist_ok=True)
        images, inst_anns, pan_anns, refs, ref_anns, attrs = \
            [], [], [], [], [], []
        for k in range(n_img):
            rng = np.random.default_rng([seed, split_idx, k])
            layout, objs, img = _make_image(rng, image_size)
            img_id = next_img_id
            next_img_id += 1
            stem = f'{img_id:012d}'
            image = dict(id=img_id, file_name=stem + '.jpg',
                         height=image_size, width=image_size, license=1)
            images.append(image)
            cv2.imwrite(osp.join(img_dir, stem + '.jpg'), img[..., ::-1],
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            sem = np.full((image_size, image_size), 255, np.uint8)
            id_map = np.zeros((image_size, image_size), np.int64)
            seg_ids = _segment_ids(rng, len(objs) + 3)
            segments = []
            n_thing = len(SYNTHETIC_THING_CLASSES)
            for s, name in enumerate(SYNTHETIC_STUFF_CLASSES):
                vis = layout == s
                for o in objs:
                    vis &= ~o['mask']
                if not vis.any():
                    continue
                sid = seg_ids[len(objs) + s]
                id_map[vis] = sid
                sem[vis] = n_thing + s
                segments.append(dict(id=sid,
                                     category_id=SYNTHETIC_STUFF_IDS[s],
                                     iscrowd=0, bbox=_bbox(vis),
                                     area=int(vis.sum())))
            ref_objs = []
            for j, o in enumerate(objs):
                label = SYNTHETIC_THING_CLASSES.index(o['shape'])
                area = int(o['mask'].sum())
                bbox = _bbox(o['mask'])
                id_map[o['mask']] = seg_ids[j]
                sem[o['mask']] = label
                o['ann_id'] = next_ann_id
                next_ann_id += 1
                inst_anns.append(dict(
                    id=o['ann_id'], image_id=img_id,
                    category_id=SYNTHETIC_THING_IDS[label],
                    segmentation=_polygons(o['mask']), area=area, bbox=bbox,
                    iscrowd=0))
                segments.insert(j, dict(
                    id=seg_ids[j], category_id=SYNTHETIC_THING_IDS[label],
                    iscrowd=0, bbox=bbox, area=area))
                ys, xs = np.nonzero(o['mask'])
                regions = {n: round(float((layout[o['mask']] == s).mean()), 4)
                           for s, n in enumerate(SYNTHETIC_STUFF_CLASSES)}
                ref_objs.append(dict(
                    shape=o['shape'], color=o['color'], size=o['size'],
                    area=area, cx=round(float(xs.mean()), 2),
                    cy=round(float(ys.mean()), 2), regions=regions))
                attrs.append(dict(ann_id=o['ann_id'], image_id=img_id,
                                  **ref_objs[-1]))
            cv2.imwrite(osp.join(pan_dir, stem + '.png'),
                        _id2rgb(id_map)[..., ::-1])
            cv2.imwrite(osp.join(sem_dir, stem + '.png'), sem)
            pan_anns.append(dict(image_id=img_id, file_name=stem + '.png',
                                 segments_info=segments))
            for j, exprs in _make_refs(rng, ref_objs, image_size).items():
                sents = []
                for e in exprs:
                    raw = _sentence(rng, e)
                    sents.append(dict(raw=raw, sent=raw, tokens=raw.split(),
                                      sent_id=next_sent_id))
                    next_sent_id += 1
                ref = dict(ref_id=next_ref_id, ann_id=objs[j]['ann_id'],
                           image_id=img_id, split=split,
                           sentences=sents,
                           sent_ids=[s['sent_id'] for s in sents],
                           category_id=inst_anns[-len(objs) + j][
                               'category_id'],
                           file_name=image['file_name'])
                next_ref_id += 1
                refs.append(ref)
                ref_anns.append(dict(inst_anns[-len(objs) + j], **ref))
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
        with open(osp.join(ann_dir, f'refs(synthetic)_{split}.p'), 'wb') as f:
            pickle.dump(refs, f, protocol=4)
        counts['images'][split] = len(images)
        counts['instances'][split] = len(inst_anns)
        counts['refs'][split] = len(refs)
        counts['sentences'][split] = sum(len(r['sentences']) for r in refs)
    args = dict(num_train=num_train, num_val=num_val, image_size=image_size,
                seed=seed)
    meta = dict(thing_classes=list(SYNTHETIC_THING_CLASSES),
                stuff_classes=list(SYNTHETIC_STUFF_CLASSES),
                classes=list(SYNTHETIC_CLASSES),
                thing_category_ids=list(SYNTHETIC_THING_IDS),
                stuff_category_ids=list(SYNTHETIC_STUFF_IDS),
                palette=[list(p) for p in SYNTHETIC_PALETTE],
                colors=list(SYNTHETIC_COLORS), sizes=list(SYNTHETIC_SIZES),
                generation_args=args, counts=counts,
                command=f'{GENERATE_COMMAND} --out {out_dir} --num-train '
                f'{num_train} --num-val {num_val} --size {image_size} '
                f'--seed {seed}')
    with open(osp.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
    with open(osp.join(out_dir, 'README.md'), 'w') as f:
        f.write(_readme(meta))
    return dict(out_dir=out_dir, seconds=round(time.time() - t0, 2), **meta)


_README_TABLE = (
    ('path', 'format'), ('---', '---'),
    ('`train2017/`, `val2017/`', 'JPEG images'),
    ('`annotations/instances_{split}2017.json`',
     'COCO instances: things, polygons, area, bbox, iscrowd=0'),
    ('`annotations/panoptic_{split}2017.json` + `.../*.png`',
     'COCO panoptic, PNG id = R + 256 G + 256^2 B'),
    ('`annotations/panoptic_semseg_{split}2017/*.png`',
     'uint8 label = index in `classes` of meta.json (things then stuff), '
     '255 = ignore'),
    ('`annotations/refs_{split}.json`',
     'RefCOCOg-style grounding json as SEEM reads it: images, annotations '
     '(instance + ref_id, split, sentences [{raw, sent, tokens}]), '
     '`object_attributes` (colour, size, centre, stuff under it)'),
    ('`annotations/refs(synthetic)_{split}.p`',
     'pickled refs for mmdet `RefCocoDataset` (ann_file = '
     '`annotations/instances_{split}2017.json`, split_file = this file, '
     "split = '{split}')"),
)


def _readme(meta):
    c = meta['counts']
    table = '\n'.join(f'| {a} | {b} |' for a, b in _README_TABLE)
    return f"""# mmseem synthetic shapes (COCO format)

Generated by `{meta['command']}`
(`mmseem.datasets.synthetic.generate_synthetic_coco`), deterministic in
the seed.

Images: {c['images']}; thing instances: {c['instances']};
referred objects: {c['refs']}; sentences: {c['sentences']}.

Scenes of textured stuff (`sky` top band, `grass` bottom band, `wall` in
between; noise / gradient / stripe textures) with up to 6 overlapping
shapes (painted back to front). Thing categories are the shapes
{meta['thing_classes']}; colours {meta['colors']} and sizes
{meta['sizes']} only appear in the referring sentences.

{table}

Category ids: things {meta['thing_category_ids']}, stuff
{meta['stuff_category_ids']} (not contiguous, like COCO). Every sentence is
checked to match exactly one object (attributes, superlatives with a margin,
left/right/above/below relations with a margin, stuff regions).
"""


# ------------------------------------------------------------------ checks
def check_data_root(data_root, required=DEFAULT_REQUIRED):
    """Raise ``FileNotFoundError`` (with the command that writes the data)
    when ``data_root`` or one of ``required`` (relative paths) is missing."""
    cmd = f'{GENERATE_COMMAND} --out {data_root}'
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'data root {data_root!r} does not exist. Generate the synthetic '
            f'set with:\n    {cmd}')
    missing = [r for r in required if not osp.exists(osp.join(data_root, r))]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} file(s) missing under {data_root!r}: {missing}. '
            f'Regenerate the synthetic set with:\n    {cmd}')
    return data_root


def _need(cond, path, where, what):
    if not cond:
        raise ValueError(f'{path}: {where}: {what}')


def validate_coco_json(path, png_dir=None):
    """Check a COCO instances / panoptic / refs json; raise ``ValueError``
    naming the file, the entry (index and id) and the bad field.

    For panoptic files the PNGs in ``png_dir`` (default: the json path
    without ``.json``) are read, when present, and their ids compared with
    ``segments_info``. Returns the loaded dict.
    """
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: not valid JSON ({e})') from e
    _need(isinstance(data, dict), path, 'top level', 'must be a JSON object')
    for key in ('images', 'annotations', 'categories'):
        _need(isinstance(data.get(key), list), path, 'top level',
              f'missing list {key!r}')
    img_ids = {}
    for i, im in enumerate(data['images']):
        for key in ('id', 'file_name', 'height', 'width'):
            _need(key in im, path, f'images[{i}] (id={im.get("id")})',
                  f'missing {key!r}')
        img_ids[im['id']] = im
    cat_ids = set()
    for i, c in enumerate(data['categories']):
        for key in ('id', 'name'):
            _need(key in c, path, f'categories[{i}]', f'missing {key!r}')
        cat_ids.add(c['id'])

    def check_box(entry, where):
        box = entry.get('bbox')
        _need(isinstance(box, list) and len(box) == 4, path, where,
              f'bbox must be [x, y, w, h], got {box!r}')
        _need(box[2] >= 0 and box[3] >= 0, path, where,
              f'bbox has negative size {box!r}')

    if png_dir is None:
        png_dir = osp.splitext(path)[0]
    for i, ann in enumerate(data['annotations']):
        where = f'annotations[{i}] (id={ann.get("id")})'
        _need('image_id' in ann, path, where, "missing 'image_id'")
        _need(ann['image_id'] in img_ids, path, where,
              f"image_id {ann['image_id']} is not in 'images'")
        if 'segments_info' in ann:  # panoptic
            where = f"annotations[{i}] (image_id={ann['image_id']})"
            _need('file_name' in ann, path, where, "missing 'file_name'")
            seg_ids = []
            for j, s in enumerate(ann['segments_info']):
                w = f'{where} segments_info[{j}] (id={s.get("id")})'
                for key in ('id', 'category_id', 'area', 'iscrowd'):
                    _need(key in s, path, w, f'missing {key!r}')
                _need(s['category_id'] in cat_ids, path, w,
                      f"category_id {s['category_id']} not in categories")
                check_box(s, w)
                seg_ids.append(s['id'])
            png = osp.join(png_dir, ann['file_name'])
            if osp.isfile(png):
                rgb = cv2.imread(png, cv2.IMREAD_COLOR)[..., ::-1].astype(
                    np.int64)
                in_png = set(np.unique(
                    rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]))
                in_png.discard(0)
                missing = sorted(set(seg_ids) - in_png)
                _need(not missing, path, where,
                      f'segments_info ids {missing} are not in {png}')
                extra = sorted(in_png - set(seg_ids))
                _need(not extra, path, where,
                      f'{png} has ids {extra} without segments_info')
            continue
        for key in ('id', 'category_id', 'bbox', 'area'):
            _need(key in ann, path, where, f'missing {key!r}')
        _need(ann['category_id'] in cat_ids, path, where,
              f"category_id {ann['category_id']} not in categories")
        check_box(ann, where)
        if 'sentences' in ann:  # refs json
            _need(ann['sentences'] and all('raw' in s
                                           for s in ann['sentences']),
                  path, where, "sentences must be a non-empty list of "
                  "{'raw': ...}")
    return data
