"""Tests for the official-checkpoint converter and the key manifests.

The synthetic "official" state dicts hold one seeded random value per key,
expanded (stride 0) to the manifest shape, so a 165 M-parameter key set
costs a few kB of memory and disk.
"""
import glob
import importlib.util
import json
import math
import os.path as osp
from collections import OrderedDict

import pytest
import torch

from mmseem.datasets.coco_panoptic_classes import (COCO_PANOPTIC_CLASSES,
                                                   COCO_PANOPTIC_STUFF_CLASSES,
                                                   COCO_PANOPTIC_THING_CLASSES)
from mmseem.models.utils.checkpoint_convert import (
    DERIVED_BUFFERS, CheckpointMismatchError, build_checkpoint,
    convert_state_dict, extract_state_dict, load_manifest, select_prefix,
    strip_wrapper_prefix)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MANIFEST_DIR = osp.join(ROOT, 'tests', 'data', 'official_keys')
FOCALT_V1 = osp.join(MANIFEST_DIR, 'seem_focalt_v1.json')
XDEC_T = osp.join(MANIFEST_DIR, 'xdecoder_focalt_last.json')
MANIFESTS = sorted(glob.glob(osp.join(MANIFEST_DIR, '*.json')))


def fake_official(shapes, seed=0, prefix=''):
    """Seeded random state dict with exactly ``shapes`` (stride-0 views)."""
    g = torch.Generator().manual_seed(seed)
    values = torch.randn(len(shapes), generator=g)
    return OrderedDict((prefix + k, values[i:i + 1].reshape(
        [1] * len(s)).expand(*s) if len(s) else values[i].clone())
                       for i, (k, s) in enumerate(shapes.items()))


def load_cli():
    path = osp.join(ROOT, 'tools', 'model_converters', 'seem2mmseem.py')
    spec = importlib.util.spec_from_file_location('seem2mmseem', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize('path', MANIFESTS, ids=osp.basename)
def test_manifest_consistent(path):
    with open(path) as f:
        m = json.load(f)
    keys = m['keys']
    assert m['num_keys'] == len(keys)
    param_elems = sum(
        math.prod(s) for k, s in keys.items() if k not in m['buffers'])
    assert param_elems == m['num_params']
    assert len(keys) - len(m['buffers']) == m['num_param_tensors']
    assert not any(k.startswith(('model.', 'module.')) for k in keys)
    assert 'pixel_mean' not in keys and 'pixel_std' not in keys
    assert osp.getsize(path) < 200 * 1024


def test_manifest_known_facts():
    shapes = load_manifest(FOCALT_V1)
    # The released seem_focalt_v1.pt holds 729 keys, ~164.6 M parameters.
    assert len(shapes) == 729
    total = sum(math.prod(s) for s in shapes.values())
    assert round(total / 1e6, 1) == 164.6
    assert shapes['sem_seg_head.predictor.lang_encoder.logit_scale'] == ()
    assert shapes['criterion.empty_weight'] == (134, )
    assert shapes['sem_seg_head.predictor.lang_encoder.lang_encoder.'
                  'token_embedding.weight'] == (49408, 512)
    assert 'sem_seg_head.predictor.mask_sptial_embed.0' in shapes


def test_convert_flat_identity():
    shapes = load_manifest(FOCALT_V1)
    src = fake_official(shapes, seed=1)
    out, report = convert_state_dict(src, shapes)
    assert report.num_source == report.num_target == report.num_converted \
        == 729
    assert report.source_params == report.target_params
    assert report.stripped_prefix == '' and report.dropped == []
    assert list(out) == list(shapes)
    for k in ('backbone.patch_embed.proj.weight', 'dilation_kernel',
              'sem_seg_head.predictor.lang_encoder.logit_scale'):
        assert out[k] is src[k]


@pytest.mark.parametrize('prefix,wrap', [('module.model.', 'model'),
                                         ('model.', 'state_dict'),
                                         ('module.', None)])
def test_convert_training_checkpoint(prefix, wrap):
    shapes = load_manifest(XDEC_T)
    src = fake_official(shapes, seed=2, prefix=prefix)
    ckpt = {wrap: src, 'iteration': torch.tensor(3)} if wrap else src
    out, report = convert_state_dict(ckpt, shapes)
    assert report.stripped_prefix == prefix
    assert report.num_converted == len(shapes) == 726
    k = 'sem_seg_head.predictor.caping_embed'
    assert torch.equal(out[k], src[prefix + k])


def test_missing_key_named():
    shapes = load_manifest(FOCALT_V1)
    src = fake_official(shapes, prefix='module.model.')
    del src['module.model.sem_seg_head.predictor.pn_indicator.weight']
    with pytest.raises(CheckpointMismatchError,
                       match=r'1 target keys .*missing.*\n.*'
                       r'sem_seg_head\.predictor\.pn_indicator\.weight'):
        convert_state_dict(src, shapes)


def test_extra_key_named():
    shapes = load_manifest(FOCALT_V1)
    src = fake_official(shapes)
    src['sem_seg_head.predictor.not_a_module.weight'] = torch.zeros(2)
    with pytest.raises(ValueError, match=r'unexpected[\s\S]*not_a_module'):
        convert_state_dict(src, shapes)


def test_shape_mismatch_named():
    shapes = load_manifest(FOCALT_V1)
    src = fake_official(shapes)
    src['sem_seg_head.predictor.query_feat.weight'] = torch.zeros(201, 512)
    with pytest.raises(ValueError,
                       match=r'query_feat\.weight: official \[201, 512\] '
                       r'vs target \[101, 512\]'):
        convert_state_dict(src, shapes)


def test_many_offenders_truncated():
    seem = load_manifest(FOCALT_V1)
    xdec = load_manifest(XDEC_T)
    with pytest.raises(ValueError) as err:
        convert_state_dict(fake_official(seem), xdec)
    msg = str(err.value)
    # SEEM-only visual prompt parameters are unexpected for X-Decoder.
    assert 'sem_seg_head.predictor.spatial_embed.weight' in msg
    assert 'backbone_proj' in msg  # missing X-Decoder parameter
    assert 'dilation_kernel' not in msg  # derived buffer: dropped


def test_derived_buffer_dropped():
    shapes = load_manifest(FOCALT_V1)
    target = OrderedDict(
        (k, s) for k, s in shapes.items() if k not in DERIVED_BUFFERS)
    out, report = convert_state_dict(fake_official(shapes), target)
    assert sorted(report.dropped) == ['criterion.empty_weight',
                                      'dilation_kernel']
    assert report.num_converted == 727 == len(out)


def test_parameter_landing_in_buffer_named():
    shapes = load_manifest(FOCALT_V1)
    params = [k for k in shapes if k not in DERIVED_BUFFERS]
    out, _ = convert_state_dict(
        fake_official(shapes), shapes, target_param_keys=params)
    assert len(out) == 729
    params.remove('sem_seg_head.predictor.lang_encoder.logit_scale')
    with pytest.raises(ValueError,
                       match=r'target buffer[\s\S]*lang_encoder\.logit_scale'):
        convert_state_dict(
            fake_official(shapes), shapes, target_param_keys=params)


def test_extract_and_strip_errors():
    with pytest.raises(TypeError, match='not tensors'):
        extract_state_dict({'a': torch.zeros(1), 'b': 'text'})
    with pytest.raises(TypeError, match='state dict'):
        extract_state_dict([torch.zeros(1)])
    # A prefix is only stripped when every key has it.
    sd, p = strip_wrapper_prefix({'model.a': 1, 'b': 2})
    assert p == '' and list(sd) == ['model.a', 'b']


def test_select_prefix_counts():
    shapes = load_manifest(FOCALT_V1)
    lang = select_prefix(shapes, 'sem_seg_head.predictor.lang_encoder.')
    assert len(select_prefix(shapes, 'backbone.')) == 300
    assert len(select_prefix(shapes, 'sem_seg_head.pixel_decoder.')) == 97
    assert len(lang) == 150 and lang['lang_proj'] == (512, 512)
    assert len(select_prefix(shapes, 'sem_seg_head.predictor.')) == 330


def test_coco_panoptic_classes():
    assert len(COCO_PANOPTIC_CLASSES) == 133
    assert len(COCO_PANOPTIC_THING_CLASSES) == 80
    assert len(COCO_PANOPTIC_STUFF_CLASSES) == 53
    assert COCO_PANOPTIC_CLASSES[0] == 'person'
    assert COCO_PANOPTIC_CLASSES[79] == 'toothbrush'
    assert COCO_PANOPTIC_CLASSES[80] == 'banner'
    assert COCO_PANOPTIC_CLASSES[-1] == 'rug-merged'
    assert len(set(COCO_PANOPTIC_CLASSES)) == 133
    mmdet_datasets = pytest.importorskip('mmdet.datasets')
    mmdet_classes = mmdet_datasets.CocoPanopticDataset.METAINFO['classes']
    assert list(mmdet_classes) == COCO_PANOPTIC_CLASSES


def test_cli_roundtrip_weights_only(tmp_path, capsys):
    cli = load_cli()
    shapes = load_manifest(FOCALT_V1)
    src_path = str(tmp_path / 'seem_focalt_v1.pt')
    torch.save({'model': fake_official(shapes, 3, 'module.model.')},
               src_path)
    dst = str(tmp_path / 'out.pth')
    assert cli.main([src_path, dst, '--manifest', FOCALT_V1]) == 0
    printed = capsys.readouterr().out
    assert 'source (official) keys : 729' in printed
    assert 'target (mmseem) keys   : 729' in printed
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert list(ckpt['state_dict']) == list(shapes)
    meta = ckpt['meta']
    assert meta['converted_from'] == 'seem_focalt_v1.pt'
    assert meta['dataset_meta']['classes'] == COCO_PANOPTIC_CLASSES
    assert len(meta['dataset_meta']['thing_classes']) == 80
    palette = meta['dataset_meta']['palette']
    assert len(palette) == 133 and all(len(c) == 3 for c in palette)
    assert all(isinstance(v, int) for c in palette for v in c)
    assert isinstance(meta['mmseem_version'], str)


def test_cli_mismatch_exit_code(tmp_path, capsys):
    cli = load_cli()
    src_path = str(tmp_path / 'xdecoder_focalt_last.pt')
    torch.save(fake_official(load_manifest(XDEC_T)), src_path)
    dst = tmp_path / 'out.pth'
    assert cli.main([src_path, str(dst), '--manifest', FOCALT_V1]) == 1
    err = capsys.readouterr().err
    assert 'pn_indicator' in err and '--partial' in err
    assert 'caping_embed' not in err  # captioning heads are dropped
    assert not dst.exists()


def test_build_checkpoint_loads_with_mmengine(tmp_path):
    from mmengine.runner import load_checkpoint
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    sd = OrderedDict(
        (k, torch.full_like(v, 0.5)) for k, v in model.state_dict().items())
    path = str(tmp_path / 'tiny.pth')
    torch.save(build_checkpoint(sd, 'tiny.pt'), path)
    ckpt = load_checkpoint(model, path, map_location='cpu', strict=True)
    assert torch.all(model[0].weight == 0.5)
    assert len(ckpt['meta']['dataset_meta']['classes']) == 133


SEEM_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'seem',
                                         'seem_focalt-v1_coco-panoptic.py')))


@pytest.mark.skipif(
    not SEEM_CONFIGS,
    reason='configs/seem/seem_focalt-v1_coco-panoptic.py is missing')
def test_convert_into_mmseem_model():
    from mmengine.config import Config

    from mmseem.models.utils.checkpoint_convert import shapes_of_model
    from mmseem.registry import MODELS
    from mmseem.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(SEEM_CONFIGS[0])
    model = MODELS.build(cfg.model)
    target = shapes_of_model(model)
    out, report = convert_state_dict(
        fake_official(load_manifest(FOCALT_V1), prefix='module.model.'),
        target,
        target_param_keys=[n for n, _ in model.named_parameters()])
    assert report.num_converted == len(target)
    # every official parameter must land in a model parameter
    params = {n for n, _ in model.named_parameters()}
    official = load_manifest(FOCALT_V1)
    with open(FOCALT_V1) as f:
        official_buffers = set(json.load(f)['buffers'])
    assert {k for k in official if k not in official_buffers} <= params
    # stride-0 source tensors are copied element-wise by load_state_dict
    model.load_state_dict(out, strict=True)
    k = 'sem_seg_head.predictor.lang_encoder.logit_scale'
    assert torch.equal(model.state_dict()[k], out[k])

    # ... and the converted full-size model runs (open-vocabulary panoptic)
    from mmdet.structures import DetDataSample
    model.eval()
    model.set_vocabulary(['dog', 'cat'], ['sky'])
    img = torch.randint(0, 256, (3, 64, 64), generator=torch.Generator()
                        .manual_seed(0)).float()
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[DetDataSample(
            metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))]), False)
    with torch.no_grad():
        res = model.predict(data['inputs'], data['data_samples'])[0]
    assert res.pred_panoptic_seg.sem_seg.shape == (1, 64, 64)
    assert res.pred_sem_seg.data.max() < 3


def test_xdecoder_into_seem_needs_partial():
    """SEEM's training starts from X-Decoder: the spatial-prompt parts are
    absent from the X-Decoder file. Strict conversion refuses; ``--partial``
    lists them as left at initialisation and drops the captioning heads."""
    src = fake_official(load_manifest(XDEC_T))
    target = load_manifest(FOCALT_V1)
    with pytest.raises(CheckpointMismatchError, match='pn_indicator'):
        convert_state_dict(src, target)
    out, report = convert_state_dict(src, target, allow_missing=True)
    left = set(report.left_at_init)
    assert {'sem_seg_head.predictor.pn_indicator.weight',
            'sem_seg_head.predictor.spatial_embed.weight',
            'dilation_kernel'} <= left
    assert all('spatial' in k or 'sptial' in k or 'pn_indicator' in k
               or k == 'dilation_kernel'
               for k in left), sorted(left)
    assert set(report.dropped_unsupported) == {
        'backbone_proj', 'sem_seg_head.predictor.caping_embed',
        'sem_seg_head.predictor.pos_embed_caping.weight'}
    assert not left & set(out)
    assert len(out) + len(left) == len(target)
    assert 'left at initialisation' in report.summary()
    # an unexpected key still fails under --partial
    src['sem_seg_head.predictor.not_a_module'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError, match='not_a_module'):
        convert_state_dict(src, target, allow_missing=True)


def test_partial_refuses_disjoint_source():
    src = OrderedDict(foo=torch.zeros(2))
    with pytest.raises(CheckpointMismatchError, match='missing'):
        convert_state_dict(
            src, OrderedDict(bar=(2, )), unsupported={}, allow_missing=True)


XDEC_CONFIG = osp.join(ROOT, 'configs', 'baselines', 'xdecoder_focalt_coco.py')


def test_xdecoder_baseline_converts_strictly(tmp_path, capsys):
    """The X-Decoder baseline config holds every X-Decoder tensor except the
    captioning / retrieval heads; SEEM's constant ``dilation_kernel`` comes
    from the model. The result loads strictly."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from mmseem.registry import MODELS
    from mmseem.utils import register_all_modules
    register_all_modules()
    cli = load_cli()
    src_path = str(tmp_path / 'xdecoder_focalt_last.pt')
    torch.save(fake_official(load_manifest(XDEC_T)), src_path)
    dst = str(tmp_path / 'xdec.pth')
    assert cli.main([src_path, dst, '--config', XDEC_CONFIG]) == 0
    out = capsys.readouterr().out
    assert 'dropped unsupported heads: 3' in out
    assert "derived buffers from the target model: ['dilation_kernel']" in out
    model = MODELS.build(Config.fromfile(XDEC_CONFIG).model)
    load_checkpoint(model, dst, map_location='cpu', strict=True)
    assert torch.equal(model.dilation_kernel, torch.ones(1, 1, 3, 3))
