"""Checks of a synthetic (or any COCO-format) data root.

mmseem-specific: :func:`check_data_root` names the command that writes a
missing or stale synthetic set; :func:`validate_coco_json` points at the
bad entry of a COCO instances / panoptic / refs json.
"""
import json
import os.path as osp

import cv2
import numpy as np

from .constants import DEFAULT_REQUIRED, GENERATE_COMMAND, GENERATOR_VERSION

# ------------------------------------------------------------------ checks
def generator_version(data_root):
    """The generator version recorded in ``data_root/meta.json`` (1 for a
    version-1 root, which did not record it; None without meta.json)."""
    try:
        with open(osp.join(data_root, 'meta.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return int(meta.get('generator_version', 1)) if isinstance(
        meta, dict) else None


def check_data_root(data_root, required=DEFAULT_REQUIRED, synthetic=True):
    """Raise ``FileNotFoundError`` (with the command that writes the data)
    when ``data_root`` or one of ``required`` (relative paths) is missing,
    and, for ``synthetic`` roots that carry a ``meta.json``, when it was
    written by an older generator (stale)."""
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
    version = generator_version(data_root) if synthetic else None
    if version is not None and version != GENERATOR_VERSION:
        raise FileNotFoundError(
            f'the synthetic set under {data_root!r} is stale (generator '
            f'version {version}, this code writes version '
            f'{GENERATOR_VERSION}). Regenerate it with:\n    {cmd}')
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
