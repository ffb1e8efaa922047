"""tools/deployment/export_onnx.py: the click graph equals SEEM's decoder,
onnxruntime equals PyTorch, the CLI never overwrites its output."""
import importlib.util
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'deployment', 'export_onnx.py')
TINY = osp.join(ROOT, 'configs', 'seem', 'seem_tiny_synthetic-panoptic.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('export_onnx', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def tool():
    return _load_tool()


@pytest.fixture(scope='module')
def setup():
    import mmseem.models  # noqa: F401
    from mmengine.config import Config
    from mmseem.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY).model).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 64, 96))
    pos = torch.zeros(1, 64, 96, dtype=torch.bool)
    pos[0, 20:23, 30:33] = True  # a 3 x 3 click
    neg = torch.zeros_like(pos)
    neg[0, 40:42, 70:72] = True
    big = torch.zeros_like(pos)
    big[0, 5:50, 10:80] = True  # more pixels than max_spatial_len
    return model, feats, pos, neg, big


def _decoder_reference(model, feats, pos, neg, seed, prev=None):
    """SEEM's own spatial round (as SEEM.predict_prompts runs it)."""
    extra = dict(spatial_query_pos_mask=[pos], spatial_query_neg_mask=[neg],
                 spatial_only=True)
    if prev is not None:
        extra['prev_mask'] = prev
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        out = model.sem_seg_head.decode(feats['mask_features'],
                                        feats['multi_scale_features'],
                                        'interactive', extra, gen)
    return out['prev_mask']


@pytest.mark.parametrize('memory', [False, True])
@pytest.mark.parametrize('prompt', ['click', 'box'])
def test_graph_equals_seem_decoder(tool, setup, memory, prompt):
    model, feats, pos, neg, big = setup
    pos = pos if prompt == 'click' else big
    prev = torch.randn(1, 1, 16, 24) if memory else None
    inputs = tool.click_inputs(model, feats, pos, neg,
                               torch.Generator().manual_seed(7), prev)
    graph = tool.SEEMClickGraph(model, memory)
    with torch.no_grad():
        masks, caption = graph(*[inputs[n] for n in graph.input_names()])
    ref = _decoder_reference(model, feats, pos, neg, 7, prev)
    torch.testing.assert_close(masks, ref, atol=1e-5, rtol=0)
    assert caption.shape == (1, model.predictor.class_embed.shape[1])


@pytest.mark.parametrize('memory', [False, True])
def test_onnxruntime_matches_pytorch(tool, setup, tmp_path, memory):
    pytest.importorskip('onnx', reason='onnx not installed (see '
                        'requirements/optional.txt)')
    pytest.importorskip('onnxruntime', reason='onnxruntime not installed '
                        '(see requirements/optional.txt)')
    model, feats, pos, neg, _ = setup
    prev = torch.randn(1, 1, 16, 24) if memory else None
    inputs = tool.click_inputs(model, feats, pos, neg,
                               torch.Generator().manual_seed(3), prev)
    path = str(tmp_path / 'click.onnx')
    tool.export(model, path, memory, inputs)
    # another click on the same graph (fixed shapes, new values)
    pos2 = torch.zeros_like(pos)
    pos2[0, 50:53, 10:13] = True
    inputs2 = tool.click_inputs(model, feats, pos2, neg,
                                torch.Generator().manual_seed(4), prev)
    for inp in (inputs, inputs2):
        res = tool.verify(model, path, inp, memory, repeats=1)
        assert res['max_abs_diff'] <= 1e-4, res


def test_cli_refuses_to_overwrite(tool, tmp_path, capsys):
    out = tmp_path / 'exists.onnx'
    out.write_bytes(b'user data')
    assert tool.main([TINY, str(out), '--height', '64',
                      '--width', '64']) == 1
    assert 'refusing to overwrite' in capsys.readouterr().err
    assert out.read_bytes() == b'user data'
    with pytest.raises(FileExistsError, match='refusing to overwrite'):
        tool.export(None, str(out), False, {})
    assert out.read_bytes() == b'user data'


def test_short_graph_for_clicks(tool, setup, tmp_path):
    """--max-points: a click graph with short padded inputs gives the same
    masks; a prompt with more points than it takes is refused."""
    pytest.importorskip('onnxruntime', reason='onnxruntime not installed')
    model, feats, pos, neg, big = setup
    inputs = tool.click_inputs(model, feats, pos, neg,
                               torch.Generator().manual_seed(7),
                               max_points=12)
    assert inputs['points_0'].shape == (1, 24, 2)
    path = str(tmp_path / 'short.onnx')
    tool.export(model, path, False, inputs)
    res = tool.verify(model, path, inputs, False, repeats=1)
    assert res['max_abs_diff'] <= 1e-4
    ref = _decoder_reference(model, feats, pos, neg, 7)
    sess, feed = tool.run_onnx(path, inputs)
    torch.testing.assert_close(torch.from_numpy(sess.run(None, feed)[0]),
                               ref, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match='larger --max-points'):
        tool.click_inputs(model, feats, big, neg, max_points=12)
