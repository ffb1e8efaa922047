"""Check that a config's datasets are on disk before a run starts.

Added by mmseem: without it a missing COCO ends deep in mmdet's dataset
loading with a bare ``FileNotFoundError`` traceback. :func:`check_data_paths`
walks the dataloaders' dataset configs (through ``ConcatDataset`` /
``RepeatDataset``-style wrappers) and the evaluators' ``ann_file`` and
raises :class:`DatasetNotFoundError` naming every missing path, the
``data_root`` it was expected under and the ``--cfg-options`` that points
the config at another copy. Remote paths (``backend_args`` set or a
``scheme://`` prefix) are not checked.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Iterable, List, Optional

__all__ = ['MissingData', 'DatasetNotFoundError', 'find_missing_data',
           'check_data_paths']

#: dataset keys holding a file or folder relative to ``data_root``
_FILE_KEYS = ('ann_file', 'ref_file', 'ref_ann_file')


@dataclass
class MissingData:
    """A path a config needs that is not on disk."""
    cfg_key: str  # where it is set, e.g. 'train_dataloader.dataset'
    dataset_type: str
    data_root: str
    missing: List[str]
    root_missing: bool


class DatasetNotFoundError(FileNotFoundError):
    """A dataset of the config is not where the config expects it."""


def _remote(path: str) -> bool:
    return '://' in str(path)


def _join(root: str, path: str) -> str:
    if not path or osp.isabs(path) or not root or _remote(path):
        return path
    return osp.join(root, path)


def _leaf(ds: dict, key: str) -> Optional[MissingData]:
    if ds.get('backend_args') or _remote(ds.get('data_root', '') or ''):
        return None
    root = ds.get('data_root', '') or ''
    kind = str(ds.get('type', '?'))
    if root and not osp.isdir(root):
        return MissingData(key, kind, root, [root], True)
    missing = []
    for k in _FILE_KEYS:
        value = ds.get(k)
        if isinstance(value, str) and value:
            path = _join(root, value)
            if not _remote(path) and not osp.exists(path):
                missing.append(path)
    prefix = ds.get('data_prefix') or {}
    if isinstance(prefix, dict):
        for value in prefix.values():
            if isinstance(value, str) and value:
                path = _join(root, value)
                if not _remote(path) and not osp.exists(path):
                    missing.append(path)
    return MissingData(key, kind, root, missing, False) if missing else None


def _walk(ds, key: str) -> Iterable[MissingData]:
    if not isinstance(ds, dict):
        return
    if isinstance(ds.get('datasets'), (list, tuple)):
        for i, sub in enumerate(ds['datasets']):
            yield from _walk(sub, f'{key}.datasets.{i}')
    elif isinstance(ds.get('dataset'), dict):
        yield from _walk(ds['dataset'], f'{key}.dataset')
    else:
        found = _leaf(ds, key)
        if found is not None:
            yield found


def _evaluators(ev, key: str) -> Iterable[MissingData]:
    items = ev if isinstance(ev, (list, tuple)) else [ev]
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get('backend_args'):
            continue
        sub = f'{key}.{i}' if isinstance(ev, (list, tuple)) else key
        path = item.get('ann_file')
        if isinstance(path, str) and path and not _remote(path) \
                and not osp.exists(path):
            yield MissingData(sub, str(item.get('type', '?')), '', [path],
                              False)


def find_missing_data(cfg, dataloaders: Iterable[str] = ('train_dataloader',),
                      evaluators: Iterable[str] = ()) -> List[MissingData]:
    """Missing dataset paths of ``cfg`` (an mmengine ``Config`` or dict)."""
    found = []
    for name in dataloaders:
        loader = cfg.get(name)
        if isinstance(loader, dict):
            found += list(_walk(loader.get('dataset'), f'{name}.dataset'))
    for name in evaluators:
        if cfg.get(name) is not None:
            found += list(_evaluators(cfg.get(name), name))
    return found


def _placeholder(root: str) -> str:
    name = osp.basename(osp.normpath(root)) if root else ''
    return f'/path/to/{name or "data"}/'


def _hint(item: MissingData) -> str:
    if 'synthetic' not in item.dataset_type.lower():
        return ''
    try:
        from mmseem.datasets.synthetic import GENERATE_COMMAND
    except ImportError:  # pragma: no cover
        return ''
    return (f'or generate the synthetic set: {GENERATE_COMMAND} --out '
            f'{item.data_root or "data/synthetic"}')


def check_data_paths(cfg, dataloaders: Iterable[str] = ('train_dataloader',),
                     evaluators: Iterable[str] = ()) -> None:
    """Raise :class:`DatasetNotFoundError` when a dataset path is missing.

    The message lists, per dataset, what is missing, the ``data_root`` it
    was looked for under (relative to the current directory) and the
    ``--cfg-options`` override that points the config at the data.
    """
    found = find_missing_data(cfg, dataloaders, evaluators)
    if not found:
        return
    lines = [f'the config expects data that is not on disk (paths relative '
             f'to {os.getcwd()}):']
    for item in found:
        if item.root_missing:
            lines.append(f'  {item.cfg_key} ({item.dataset_type}): '
                         f'data_root {item.data_root!r} does not exist')
        else:
            lines.append(f'  {item.cfg_key} ({item.dataset_type}): missing '
                         + ', '.join(item.missing)
                         + (f' (data_root {item.data_root!r})'
                            if item.data_root else ''))
    roots = [item.data_root for item in found if item.data_root]
    fixes, hints = [], []
    for item in found:
        if item.cfg_key.endswith('dataset') or '.datasets.' in item.cfg_key:
            fixes.append(f'{item.cfg_key}.data_root='
                         f'{_placeholder(item.data_root)}')
            hints.append(_hint(item))
        else:
            path = item.missing[0]
            root = next((r for r in roots if path.startswith(r)), None)
            new = _placeholder(root) + path[len(root):].lstrip('/') \
                if root else f'/path/to/{osp.basename(path)}'
            fixes.append(f'{item.cfg_key}.ann_file={new}')
    lines.append('Put the data there (README, "Data", shows the layout), '
                 'or point the config at your copy:')
    lines.append('    --cfg-options ' + ' '.join(fixes))
    lines += [h for h in dict.fromkeys(hints) if h]
    raise DatasetNotFoundError('\n'.join(lines))
