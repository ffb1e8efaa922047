"""Data pickles are loaded without running code (mmseem.utils.safe_pickle).

A crafted pickle whose ``__reduce__`` calls ``os.system`` must be refused
before the call: the marker file it would create must never appear, through
the loader itself, ``RefCocoPanopticDataset`` and the refs filter tool.
"""
import importlib.util
import json
import os
import pickle
import re
import subprocess
import sys
from collections import OrderedDict

import pytest

from mmseem.utils.safe_pickle import (UnsafePickleError, safe_pickle_load,
                                      safe_pickle_loads)


class _RunsCommand:
    """Pickles as ``os.system(cmd)``: what an attacker's refs file does."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd, ))


class _CallsEval:

    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()", ))


def _malicious(tmp_path, protocol=pickle.DEFAULT_PROTOCOL):
    marker = tmp_path / 'pwned'
    data = pickle.dumps([dict(image_id=1, payload=_RunsCommand(
        f'touch {marker}'))], protocol=protocol)
    return data, marker


REFS = [
    dict(ref_id=7, ann_id=70, image_id=3, split='val', category_id=2,
         file_name='COCO_train2014_000000000003_70.jpg',
         sent_ids=[0, 1],
         sentences=[dict(raw='The left dog.', sent='the left dog', sent_id=0,
                         tokens=['the', 'left', 'dog']),
                    dict(raw='dog on the left', sent='dog on the left',
                         sent_id=1, tokens=['dog', 'on', 'the', 'left'])]),
    dict(ref_id=8, ann_id=71, image_id=4, split='train', category_id=1,
         sentences=[dict(raw='a cat', sent='a cat')], score=0.5,
         box=(1.0, 2.5, 3, 4), flags={1, 2}, raw_bytes=b'\x00\x01',
         none=None, ok=True),
]


@pytest.mark.parametrize('protocol', range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_refs_style_pickle_loads(protocol):
    data = pickle.dumps(REFS, protocol=protocol)
    assert safe_pickle_loads(data) == REFS


def test_ordered_dict_and_nesting_load():
    obj = OrderedDict(a=[1, 2.5, (3, 'x')], b=frozenset({1}), c=2 + 1j)
    for protocol in (2, 4):
        assert safe_pickle_loads(pickle.dumps(obj, protocol)) == obj


@pytest.mark.parametrize('protocol', [0, 2, 4, 5])
def test_os_system_refused_before_it_runs(tmp_path, protocol):
    data, marker = _malicious(tmp_path, protocol)
    path = tmp_path / 'refs(evil).p'
    path.write_bytes(data)
    with open(path, 'rb') as f, pytest.raises(UnsafePickleError) as e:
        safe_pickle_load(f)
    msg = str(e.value)
    assert re.search(r'(posix|os|nt)\.system', msg), msg
    assert str(path) in msg and 'builtin containers' in msg
    assert not marker.exists()


def test_eval_refused(tmp_path):
    with pytest.raises(UnsafePickleError, match=r'builtins\.eval'):
        safe_pickle_loads(pickle.dumps(_CallsEval()), source='x.p')


def test_plain_pickle_would_run_it(tmp_path):
    """The attack is real: plain pickle.load creates the marker (in a child
    process, so this test run stays clean)."""
    data, marker = _malicious(tmp_path)
    path = tmp_path / 'evil.p'
    path.write_bytes(data)
    subprocess.run([sys.executable, '-c', 'import pickle,sys; '
                    'pickle.load(open(sys.argv[1], "rb"))', str(path)],
                   check=True)
    assert marker.exists()


def test_persistent_id_refused():

    class P(pickle.Pickler):

        def persistent_id(self, obj):
            return 'ext' if obj == 'secret' else None

    import io
    buf = io.BytesIO()
    P(buf, protocol=2).dump(['secret'])
    with pytest.raises(UnsafePickleError, match='persistent id'):
        safe_pickle_loads(buf.getvalue())


def test_refcoco_dataset_refuses_malicious_refs(tmp_path):
    from mmseem.datasets.refcoco_panoptic import RefCocoPanopticDataset
    data, marker = _malicious(tmp_path)
    (tmp_path / 'refs(evil).p').write_bytes(data)
    ds = RefCocoPanopticDataset.__new__(RefCocoPanopticDataset)
    ds.data_root, ds.backend_args = str(tmp_path), None
    ds.ref_file, ds.ref_ann_file, ds.ref_split = 'refs(evil).p', 'i.json', None
    with pytest.raises(UnsafePickleError, match=r'refs\(evil\)\.p'):
        ds._load_refs()
    assert not marker.exists()


def test_filter_tool_refuses_malicious_refs(tmp_path, repo_root):
    path = repo_root / 'tools' / 'dataset_converters' / \
        'filter_refcoco_images.py'
    spec = importlib.util.spec_from_file_location('_filter_tool', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    data, marker = _malicious(tmp_path)
    (tmp_path / 'refs(evil).p').write_bytes(data)
    src = tmp_path / 'in.json'
    src.write_text(json.dumps(dict(images=[dict(id=1)], annotations=[
        dict(image_id=1, id=1)], categories=[])))
    with pytest.raises(ValueError, match='not a plain data pickle'):
        tool.filter_coco_json(str(src), str(tmp_path / 'refs(evil).p'),
                              str(tmp_path / 'out.json'))
    assert not marker.exists()
    assert not (tmp_path / 'out.json').exists()


def test_no_plain_pickle_load_left(repo_root):
    """``grep -rnE 'pickle\\.loads?\\(' mmseem tools`` finds nothing."""
    hits = []
    for top in ('mmseem', 'tools', 'demo'):
        for folder, dirs, files in os.walk(repo_root / top):
            # mmseem/.mim is the install's copy of tools/ (git-ignored)
            dirs[:] = [d for d in dirs if d != '.mim']
            for name in files:
                if not name.endswith('.py'):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding='utf-8') as f:
                    for i, line in enumerate(f, 1):
                        if re.search(r'pickle\.loads?\(', line):
                            hits.append(f'{path}:{i}')
    assert hits == []
