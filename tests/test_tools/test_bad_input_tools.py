"""Bad input to the tools: converters, train/test entry points, CPU
distributed setup. Each case checks the error type *and* that the message
names the problem (and nothing the user owns is lost)."""
import errno
import importlib.util
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MANIFEST = osp.join(REPO, 'tests', 'data', 'official_keys',
                    'seem_focalt_v1.json')


def _load(rel, name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def conv():
    return _load('tools/model_converters/seem2mmseem.py', '_seem2mmseem')


@pytest.fixture(scope='module')
def filt():
    return _load('tools/dataset_converters/filter_refcoco_images.py',
                 '_filter_refcoco')


@pytest.fixture(scope='module')
def tiny_manifest(tmp_path_factory):
    """A 3-key manifest: the converter's checks without a 165M model."""
    keys = OrderedDict([('backbone.a.weight', [2, 3]),
                        ('backbone.a.bias', [2]),
                        ('sem_seg_head.predictor.query_feat.weight', [4, 2])])
    path = tmp_path_factory.mktemp('manifest') / 'tiny.json'
    path.write_text(json.dumps(dict(keys=keys, buffers=[])))
    return str(path), keys


def _official(keys, bad=None):
    sd = OrderedDict((k, torch.ones(s)) for k, s in keys.items())
    if bad:
        sd[bad][0] = float('nan')
    return sd


def _convert(conv, capsys, *argv):
    code = conv.main(list(argv))
    return code, capsys.readouterr().err


def test_converter_tiny_manifest_works(conv, tiny_manifest, tmp_path,
                                       capsys):
    manifest, keys = tiny_manifest
    torch.save(_official(keys), tmp_path / 'src.pt')
    code, err = _convert(conv, capsys, str(tmp_path / 'src.pt'),
                         str(tmp_path / 'dst.pth'), '--manifest', manifest)
    assert code == 0, err
    out = torch.load(tmp_path / 'dst.pth', weights_only=True)
    assert set(out['state_dict']) == set(keys)
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.partial')]


def test_converter_refuses_dst_equal_to_src(conv, tiny_manifest, tmp_path,
                                            capsys):
    manifest, keys = tiny_manifest
    src = tmp_path / 'seem_focalt_v1.pt'
    torch.save(_official(keys), src)
    before = src.read_bytes()
    code, err = _convert(conv, capsys, str(src), str(src), '--manifest',
                         manifest)
    assert code == 1
    assert 'destination' in err and 'destroy the input' in err
    assert src.read_bytes() == before


@pytest.mark.parametrize('link', ['symlink', 'hardlink'])
def test_converter_refuses_dst_linked_to_src(conv, tiny_manifest, tmp_path,
                                             capsys, link):
    manifest, keys = tiny_manifest
    src = tmp_path / 'src.pt'
    torch.save(_official(keys), src)
    before = src.read_bytes()
    dst = tmp_path / 'dst.pth'
    (os.symlink if link == 'symlink' else os.link)(src, dst)
    code, err = _convert(conv, capsys, str(src), str(dst), '--manifest',
                         manifest)
    assert code == 1 and 'link to it' in err
    assert src.read_bytes() == before


def test_converter_refuses_nonfinite(conv, tiny_manifest, tmp_path, capsys):
    manifest, keys = tiny_manifest
    torch.save(_official(keys, bad='backbone.a.bias'), tmp_path / 's.pt')
    code, err = _convert(conv, capsys, str(tmp_path / 's.pt'),
                         str(tmp_path / 'd.pth'), '--manifest', manifest)
    assert code == 1
    assert 'NaN/Inf' in err and 'backbone.a.bias (1 NaN, 0 Inf of 2)' in err
    assert '--allow-nonfinite' in err
    assert not (tmp_path / 'd.pth').exists()
    code, err = _convert(conv, capsys, str(tmp_path / 's.pt'),
                         str(tmp_path / 'd.pth'), '--manifest', manifest,
                         '--allow-nonfinite')
    assert code == 0 and 'warning' in err and 'backbone.a.bias' in err
    assert (tmp_path / 'd.pth').exists()


def test_converter_full_disk_keeps_existing_dst(conv, tiny_manifest,
                                                tmp_path, capsys,
                                                monkeypatch):
    manifest, keys = tiny_manifest
    torch.save(_official(keys), tmp_path / 's.pt')
    (tmp_path / 'd.pth').write_bytes(b'previous conversion')

    def full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full)
    code, err = _convert(conv, capsys, str(tmp_path / 's.pt'),
                         str(tmp_path / 'd.pth'), '--manifest', manifest)
    assert code == 1 and 'No space left' in err and 'unchanged' in err
    assert (tmp_path / 'd.pth').read_bytes() == b'previous conversion'
    assert sorted(os.listdir(tmp_path)) == ['d.pth', 's.pt']


def test_loader_warns_on_nonfinite_weights(tmp_path):
    import mmseem  # noqa: F401  (installs the check)
    from mmengine.runner import load_checkpoint
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'ok.pth')
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd['0.weight'][0, 0] = float('inf')
    torch.save(dict(state_dict=sd), tmp_path / 'nan.pth')
    with pytest.warns(RuntimeWarning,
                      match=r'NaN/Inf weights .*0\.weight \(0 NaN, 1 Inf'):
        load_checkpoint(model, str(tmp_path / 'nan.pth'))
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        load_checkpoint(model, str(tmp_path / 'ok.pth'))  # finite: silent


# --------------------------------------------------------------- refs filter
def _coco(tmp_path):
    data = dict(images=[dict(id=i) for i in (1, 2)],
                annotations=[dict(id=10 + i, image_id=i, category_id=1,
                                  bbox=[0, 0, 1, 1]) for i in (1, 2)],
                categories=[dict(id=1, name='a')])
    path = tmp_path / 'instances.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_filter_refuses_instances_json_as_refs(filt, tmp_path):
    src = _coco(tmp_path)
    refs = tmp_path / 'refs_by_mistake.json'
    refs.write_text(open(src).read())  # an instances json as the refs file
    with pytest.raises(ValueError, match=r"looks like a COCO instances json"
                       r".*'sentences'.*remove every image"):
        filt.filter_coco_json(src, str(refs), str(tmp_path / 'o.json'))
    assert not (tmp_path / 'o.json').exists()


def test_filter_refuses_refs_entry_without_sentences(filt, tmp_path):
    src = _coco(tmp_path)
    refs = tmp_path / 'refs.json'
    refs.write_text(json.dumps(dict(annotations=[
        dict(image_id=1, sentences=['a']), dict(image_id=2)])))
    with pytest.raises(ValueError, match=r"entry 1 is not a ref .*"
                       r"'sentences'"):
        filt.filter_coco_json(src, str(refs), str(tmp_path / 'o.json'))


def test_filter_refuses_output_linked_to_input(filt, tmp_path):
    src = _coco(tmp_path)
    os.symlink(src, tmp_path / 'link.json')
    before = open(src).read()
    with pytest.raises(ValueError, match='would overwrite the input'):
        filt.filter_coco_json(src, 'refs.p', str(tmp_path / 'link.json'))
    assert open(src).read() == before


def test_filter_write_failure_leaves_no_output(filt, tmp_path, monkeypatch):
    src = _coco(tmp_path)
    refs = tmp_path / 'refs.json'
    refs.write_text(json.dumps(dict(annotations=[
        dict(image_id=1, sentences=['a'])])))

    def full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(OSError, match='No space left'):
        filt.filter_coco_json(src, str(refs), str(tmp_path / 'o.json'))
    assert sorted(os.listdir(tmp_path)) == ['instances.json', 'refs.json']


# ------------------------------------------------------ train / test tools
def test_missing_coco_names_data_root_and_fix(tmp_path, monkeypatch):
    from mmengine.config import Config

    from mmseem.utils.data_check import (DatasetNotFoundError,
                                         check_data_paths)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'seem',
                                   'seem_focalt_coco.py'))
    monkeypatch.chdir(tmp_path)  # no data/coco here
    with pytest.raises(DatasetNotFoundError) as e:
        check_data_paths(cfg, ['train_dataloader', 'val_dataloader'],
                         ['val_evaluator'])
    msg = str(e.value)
    assert "data_root 'data/coco/' does not exist" in msg
    assert ('--cfg-options train_dataloader.dataset.data_root=/path/to/coco/'
            ' val_dataloader.dataset.data_root=/path/to/coco/') in msg
    # the evaluators' files, with the same placeholder root
    assert ('val_evaluator.0.ann_file=/path/to/coco/annotations/'
            'panoptic_val2017.json') in msg
    assert str(tmp_path) in msg


def test_missing_ann_file_under_existing_root(tmp_path, monkeypatch):
    from mmseem.utils.data_check import (DatasetNotFoundError,
                                         check_data_paths)
    (tmp_path / 'coco').mkdir()
    cfg = dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2, dataset=dict(
            type='RefCocoPanopticDataset', data_root=str(tmp_path / 'coco'),
            ann_file='annotations/panoptic_train2017.json',
            ref_file='refs(umd).p', data_prefix=dict(img='train2017/')))))
    with pytest.raises(DatasetNotFoundError) as e:
        check_data_paths(cfg)
    msg = str(e.value)
    for missing in ('panoptic_train2017.json', 'refs(umd).p', 'train2017'):
        assert missing in msg
    assert '--cfg-options train_dataloader.dataset.dataset.data_root=' \
        '/path/to/coco/' in msg


def test_train_cli_exits_with_the_data_message(tmp_path, monkeypatch):
    train = _load('tools/train.py', '_train_tool')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr('sys.argv', [
        'train.py', osp.join(REPO, 'configs', 'seem', 'seem_focalt_coco.py'),
        '--work-dir', str(tmp_path / 'wd')])
    with pytest.raises(SystemExit, match=r"(?s)error: .*data/coco/.*"
                       r"--cfg-options train_dataloader\.dataset\.data_root"):
        train.main()
    assert not (tmp_path / 'wd').exists()


def test_test_cli_missing_checkpoint(tmp_path, monkeypatch):
    test_tool = _load('tools/test.py', '_test_tool')
    monkeypatch.setattr('sys.argv', [
        'test.py', osp.join(REPO, 'configs', 'seem', 'seem_focalt_coco.py'),
        str(tmp_path / 'nope.pth')])
    with pytest.raises(SystemExit, match=r'checkpoint .*nope\.pth not found'):
        test_tool.main()


def test_cpu_dist_needs_pytorch_launcher():
    from mmengine.config import Config

    from mmseem.utils.dist_env import DistributedSetupError, setup_distributed
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    with pytest.raises(DistributedSetupError, match='--launcher slurm needs '
                       'CUDA.*--launcher pytorch'):
        setup_distributed(cfg, 'slurm', cuda_available=False)
    assert setup_distributed(cfg, 'none') == ''
    assert setup_distributed(cfg, 'pytorch', cuda_available=True) == 'nccl'


def test_cpu_dist_without_torchrun_env(monkeypatch):
    from mmengine.config import Config

    from mmseem.utils.dist_env import DistributedSetupError, setup_distributed
    for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(DistributedSetupError,
                       match=r"\['RANK', 'WORLD_SIZE'.*torch\.distributed"
                       r'\.run'):
        setup_distributed(Config(dict()), 'pytorch', cuda_available=False)
