"""Name the file, entry and field behind a COCO json loading error.

Added by mmseem: mmdet's COCO loaders fail on a malformed annotation file
with a bare ``KeyError: 'segments_info'`` (or a ``TypeError``) that names
neither the file nor the entry. :func:`coco_schema_error` is called only
after such a failure; it scans the json for the first entry that lacks a
field mmdet reads and returns a ``ValueError`` that says where.
"""
import json
from typing import Dict, Optional, Sequence

__all__ = ['REQUIRED_FIELDS', 'find_schema_problem', 'coco_schema_error']

#: fields mmdet's ``CocoDataset`` / ``CocoPanopticDataset`` read, per list
REQUIRED_FIELDS: Dict[str, Dict[str, Sequence[str]]] = {
    'panoptic': {
        'images': ('id', 'file_name', 'height', 'width'),
        'annotations': ('image_id', 'file_name', 'segments_info'),
        'segments_info': ('id', 'category_id', 'bbox', 'iscrowd'),
        'categories': ('id', 'name', 'isthing'),
    },
    'instances': {
        'images': ('id', 'file_name', 'height', 'width'),
        'annotations': ('id', 'image_id', 'category_id', 'bbox'),
        'categories': ('id', 'name'),
    },
}


def _entry_problem(entry, where: str, fields: Sequence[str]) -> Optional[str]:
    if not isinstance(entry, dict):
        return f'{where} is a {type(entry).__name__}, not an object'
    missing = [f for f in fields if f not in entry]
    if missing:
        return (f'{where} has no {missing} (it has {sorted(entry)[:12]}); '
                f'mmdet reads {list(fields)}')
    box = entry.get('bbox')
    if 'bbox' in fields and not (isinstance(box, (list, tuple))
                                 and len(box) == 4):
        return f'{where} has bbox {box!r}; expected [x, y, w, h]'
    return None


def find_schema_problem(data, kind: str) -> Optional[str]:
    """First schema problem of a loaded COCO json, or ``None``."""
    spec = REQUIRED_FIELDS[kind]
    if not isinstance(data, dict):
        return f'the top level is a {type(data).__name__}, not an object'
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            return (f"no top-level list '{key}' (top-level keys: "
                    f'{sorted(data)})')
    for key in ('images', 'categories', 'annotations'):
        for i, entry in enumerate(data[key]):
            problem = _entry_problem(entry, f'{key}[{i}]', spec[key])
            if problem:
                return problem
            if kind != 'panoptic' or key != 'annotations':
                continue
            segs = entry['segments_info']
            if not isinstance(segs, list):
                return (f'{key}[{i}].segments_info is a '
                        f'{type(segs).__name__}, not a list')
            for j, seg in enumerate(segs):
                problem = _entry_problem(
                    seg, f'{key}[{i}].segments_info[{j}]',
                    spec['segments_info'])
                if problem:
                    return problem
    return None


def coco_schema_error(ann_file: str, kind: str,
                      cause: BaseException) -> ValueError:
    """A ``ValueError`` naming ``ann_file``, the entry and the field that
    made mmdet's loader raise ``cause``.

    Args:
        ann_file (str): local path of the json.
        kind (str): ``'panoptic'`` or ``'instances'``.
        cause: the exception mmdet raised.
    """
    what = f'{cause.__class__.__name__}: {cause}'
    try:
        with open(ann_file) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return ValueError(f'cannot load the COCO {kind} json {ann_file}: '
                          f'{e} (mmdet raised {what})')
    problem = find_schema_problem(data, kind)
    if problem is None:
        return ValueError(f'mmdet could not load the COCO {kind} json '
                          f'{ann_file} ({what}); its lists look complete, '
                          'so check the values of the entries')
    return ValueError(f'{ann_file} is not a valid COCO {kind} json: '
                      f'{problem} (mmdet raised {what})')
