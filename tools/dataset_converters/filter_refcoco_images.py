"""Drop the images of RefCOCO(g) splits from a COCO json ("filtrefgumdval").

    python tools/dataset_converters/filter_refcoco_images.py \\
        data/coco/annotations/panoptic_train2017.json \\
        'data/refcoco/refcocog/refs(umd).p' \\
        data/coco/annotations/panoptic_train2017_filtrefgumdval.json

Why: every RefCOCO / RefCOCO+ / RefCOCOg image is a COCO train2014 image,
hence a COCO train2017 image. SEEM (and X-Decoder) evaluate referring
segmentation on RefCOCOg (umd split) *val*, so their COCO training
annotations drop those images: the official downloads are named
``panoptic_train2017_filtrefgumdval[_filtvlp].json``,
``grounding_train2017_filtrefgumdval_filtvlp.json`` and
``coco_train2017_filtrefgumdval_lvis.json`` ("filt ref g umd val": filtered
of RefCOCOg-umd val), and the official DATASET.md says the RefCOCOg-umd
validation split is excluded from training. The name and that note cover
*val* only (not umd test), hence the default ``--splits val``. The official
repository ships only the filtered json files, not the code that made
them; this tool rebuilds the ``filtrefgumdval`` part. ``_filtvlp`` (dropping
the COCO-Karpathy test images used by X-Decoder's vision-language
pre-training) is a different filter and is not done here.

Input json (format detected from its annotations):

* COCO panoptic: one annotation record per image, its ``segments_info``
  go with it;
* COCO instances (or captions, LVIS): annotations matched by ``image_id``;
* SEEM grounding json (``grounding_train2017*.json``, mmseem's synthetic
  ``annotations/refs_{split}.json``): instance annotations with
  ``sentences``, matched by ``image_id``.

``categories`` and every other top-level key are kept; other top-level
lists whose entries all carry an ``image_id`` (e.g. the synthetic set's
``object_attributes``) are filtered like the annotations.

Refs (which images to drop):

* a refs pickle in mmdet's RefCOCO layout (``refs(umd).p``,
  ``refs(synthetic)_{split}.p``): a list of dicts with ``ref_id``,
  ``ann_id``, ``image_id``, ``split``, ``sentences`` (mmdet 3.3
  ``RefCocoDataset`` reads these); ``image_id`` and ``split`` are used;
* or a ``.json`` in the SEEM grounding format (``refcocog_umd_val.json``,
  ``refs_{split}.json``): the ``image_id`` of its annotations, restricted
  to ``--splits`` when the annotations carry a ``split``.

Refs pickles are read with mmseem's restricted unpickler
(``mmseem/utils/safe_pickle.py``): only builtin containers and scalars load,
a pickle naming any other callable (which plain ``pickle.load`` would run)
is refused. A refs ``.json`` must be a grounding file (annotations with
``sentences``): an instances json given by mistake would name every image
and is refused.

Only the standard library is used (added by mmseem; nothing in
mmdet/mmengine filters a COCO json by image), so the tool runs before the
stack is installed. The output is written to a temporary file and renamed.
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import tempfile
from collections import Counter


def _safe_pickle():
    """mmseem's restricted unpickler, loaded from its file so that the tool
    runs without the OpenMMLab stack (importing ``mmseem`` checks it)."""
    path = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'mmseem', 'utils', 'safe_pickle.py')
    if not osp.isfile(path):  # installed tools: use the package
        from mmseem.utils import safe_pickle
        return safe_pickle
    spec = importlib.util.spec_from_file_location('_mmseem_safe_pickle', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


safe_pickle = _safe_pickle()

REFS_LAYOUT = ("mmdet's RefCOCO layout: a list of dicts with 'ref_id', "
               "'ann_id', 'image_id', 'split', 'sentences'")


def _need_file(path, what):
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} does not exist (check the '
                                'path; quote names with parentheses such as '
                                "'refs(umd).p' in the shell)")


def _load_json(path, what):
    _need_file(path, what)
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{what} {path!r} is not valid JSON ({e})') from e


def load_coco_json(path):
    """Load a COCO json and return ``(data, kind)``, ``kind`` being
    ``'panoptic'``, ``'grounding'`` or ``'instances'``."""
    data = _load_json(path, 'COCO json')
    hint = ("a COCO json needs top-level lists 'images' (each with 'id') "
            "and 'annotations' (each with 'image_id')")
    if not isinstance(data, dict):
        raise ValueError(f'{path!r} is not a COCO json: the top level is a '
                         f'{type(data).__name__}; {hint}')
    missing = [k for k in ('images', 'annotations')
               if not isinstance(data.get(k), list)]
    if missing:
        raise ValueError(f'{path!r} is not a COCO json: no list {missing} '
                         f'(top-level keys: {sorted(data)}); {hint}')
    for i, im in enumerate(data['images']):
        if not isinstance(im, dict) or 'id' not in im:
            raise ValueError(f"{path!r}: images[{i}] has no 'id'; {hint}")
    for i, ann in enumerate(data['annotations']):
        if not isinstance(ann, dict) or 'image_id' not in ann:
            raise ValueError(
                f"{path!r}: annotations[{i}] has no 'image_id'; {hint}")
    anns = data['annotations']
    if anns and all('segments_info' in a for a in anns):
        kind = 'panoptic'
    elif any('sentences' in a for a in anns):
        kind = 'grounding'
    else:
        kind = 'instances'
    return data, kind


def load_ref_image_ids(path, splits=('val', )):
    """Image ids of the refs of ``splits`` in a refs pickle or json.

    Returns:
        tuple[set, dict]: the image ids and ``{split: number of refs}`` over
        the whole file (``{None: n}`` for a json without ``split``).
    """
    splits = tuple(splits)
    if path.endswith('.json'):
        data = _load_json(path, 'refs json')
        if not isinstance(data, dict) or \
                not isinstance(data.get('annotations'), list):
            raise ValueError(
                f"refs json {path!r} has no top-level 'annotations' list "
                '(expected the SEEM grounding format, e.g. '
                'refcocog_umd_val.json)')
        refs, where = data['annotations'], f'refs json {path!r}'
        need = ('image_id', 'sentences')
        if refs and not any(isinstance(r, dict) and 'sentences' in r
                            for r in refs):
            kind = 'panoptic' if any(
                isinstance(r, dict) and 'segments_info' in r
                for r in refs) else 'instances'
            raise ValueError(
                f'refs json {path!r} looks like a COCO {kind} json: none of '
                "its annotations has 'sentences', so it is not a referring "
                'file and would remove every image it covers. Pass the refs '
                "pickle (e.g. 'refs(umd).p') or a SEEM grounding json "
                '(refcocog_umd_val.json, annotations with image_id and '
                'sentences)')
    else:
        _need_file(path, 'refs pickle')
        try:
            with open(path, 'rb') as f:
                refs = safe_pickle.safe_pickle_load(f, source=path)
        except safe_pickle.UnsafePickleError as e:
            raise ValueError(f'refs file is not a plain data pickle: {e}'
                             ) from e
        except Exception as e:
            raise ValueError(f'refs file {path!r} is not a readable pickle '
                             f'({type(e).__name__}: {e}); expected '
                             f'{REFS_LAYOUT} (or a .json grounding '
                             'file)') from e
        if not isinstance(refs, list):
            raise ValueError(f'refs pickle {path!r} holds a '
                             f'{type(refs).__name__}, not a refs list; '
                             f'expected {REFS_LAYOUT}')
        where = f'refs pickle {path!r}'
        need = ('image_id', 'split')
    for i, r in enumerate(refs):
        if not isinstance(r, dict) or any(k not in r for k in need):
            got = sorted(r) if isinstance(r, dict) else type(r).__name__
            raise ValueError(f'{where}: entry {i} is not a ref (needs '
                             f'{list(need)}, got {got}); expected '
                             f'{REFS_LAYOUT}')
    present = Counter(r.get('split') for r in refs)
    if set(present) == {None}:  # one-split json: every ref counts
        ids = {r['image_id'] for r in refs}
    else:
        ids = {r['image_id'] for r in refs if r.get('split') in splits}
    if not ids:
        raise ValueError(
            f'{where}: no refs of splits {list(splits)}; the file has '
            f'{dict(present)} refs per split (choose --splits among '
            f'{sorted(s for s in present if s is not None)})')
    return ids, dict(present)


def filter_images(data, drop_ids):
    """Remove the images ``drop_ids`` and everything keyed to them.

    Args:
        data (dict): a loaded COCO json (left unchanged).
        drop_ids (set): image ids to remove.

    Returns:
        tuple[dict, dict]: the filtered json and ``{key: (before, after)}``
        for ``images``, ``annotations`` and the other per-image lists.
    """
    out, counts = {}, {}
    for key, value in data.items():
        per_image = key == 'annotations' or (
            key != 'images' and isinstance(value, list) and value
            and all(isinstance(v, dict) and 'image_id' in v for v in value))
        if key == 'images':
            kept = [im for im in value if im['id'] not in drop_ids]
        elif per_image:
            kept = [a for a in value if a['image_id'] not in drop_ids]
        else:
            out[key] = value
            continue
        out[key] = kept
        counts[key] = (len(value), len(kept))
    return out, counts


def _write_json_atomic(obj, out_file):
    """Write ``obj`` next to ``out_file`` and rename it there: a failed
    write (full disk, kill) leaves no partial output."""
    out_dir = osp.dirname(osp.abspath(out_file))
    fd, tmp = tempfile.mkstemp(
        dir=out_dir, prefix=f'.{osp.basename(out_file)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f, separators=(',', ':'))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out_file)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def filter_coco_json(in_file, refs_file, out_file, splits=('val', )):
    """Write ``in_file`` without the images of the ``splits`` refs.

    Returns:
        dict: ``kind``, ``splits``, ``refs_per_split``, ``counts``
        (``{key: [before, after]}``, ``segments`` for panoptic),
        ``removed_image_ids`` and ``ids_not_present`` (ref image ids that
        were not in ``in_file``).
    """
    for src in (in_file, refs_file):
        if osp.abspath(out_file) == osp.abspath(src) or (
                osp.exists(out_file) and osp.exists(src)
                and osp.samefile(out_file, src)):
            raise ValueError(f'output {out_file!r} would overwrite the '
                             f'input {src!r} (the same file or a link to '
                             'it); write the filtered json under another '
                             'name')
    data, kind = load_coco_json(in_file)
    drop_ids, refs_per_split = load_ref_image_ids(refs_file, splits)
    image_ids = {im['id'] for im in data['images']}
    out, counts = filter_images(data, drop_ids)
    if kind == 'panoptic':
        counts['segments'] = tuple(
            sum(len(a['segments_info']) for a in d['annotations'])
            for d in (data, out))
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    _write_json_atomic(out, out_file)
    return dict(
        kind=kind, splits=list(splits), refs_per_split=refs_per_split,
        counts={k: list(v) for k, v in counts.items()},
        removed_image_ids=sorted(drop_ids & image_ids),
        ids_not_present=sorted(drop_ids - image_ids))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:6]))
    parser.add_argument('in_file', help='COCO panoptic / instances / '
                        'grounding json to filter')
    parser.add_argument('refs_file', help="refs pickle (mmdet layout, e.g. "
                        "'refs(umd).p') or SEEM grounding .json")
    parser.add_argument('out_file', help='filtered json to write')
    parser.add_argument('--splits', nargs='+', default=['val'],
                        help='ref splits whose images are removed '
                        '(default: val, as in the official filtrefgumdval)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        res = filter_coco_json(args.in_file, args.refs_file, args.out_file,
                               args.splits)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from e
    print(f'{args.in_file} ({res["kind"]}) -> {args.out_file}')
    print(f'refs per split in {args.refs_file}: {res["refs_per_split"]}; '
          f'removing the images of {res["splits"]}')
    for key, (before, after) in res['counts'].items():
        print(f'  {key}: {before} -> {after} (-{before - after})')
    n_miss = len(res['ids_not_present'])
    print(f'  ref image ids not in {args.in_file}: {n_miss}'
          + (f' (first: {res["ids_not_present"][:10]})' if n_miss else ''))
    return res


if __name__ == '__main__':
    main()
