"""demo/webui.py: the command line (loopback by default), the error guard
around every handler and the Gradio layout (built, not launched)."""
import importlib.util

import pytest

from mmseem.apis import SEEMPredictor
from webui_session import DemoEngine

webui = pytest.importorskip('webui', reason='demo/webui.py needs gradio '
                            '(pip install -r requirements/optional.txt)')
# webui.py imports gradio lazily: the layout and main() need it
needs_gradio = pytest.mark.skipif(
    importlib.util.find_spec('gradio') is None,
    reason='needs gradio (pip install -r requirements/optional.txt)')


@pytest.fixture
def engine(demo_model):
    return DemoEngine(SEEMPredictor(demo_model), 'tiny model')


def test_listens_on_loopback_by_default():
    args = webui.parse_args(['--config', 'c.py'])
    assert args.host == '127.0.0.1' and args.checkpoint is None
    assert webui.is_loopback('127.0.0.1') and webui.is_loopback('localhost')
    assert webui.is_loopback('::1')
    assert not webui.is_loopback('0.0.0.0')
    assert not webui.is_loopback('192.168.1.5')


def test_guard_turns_errors_into_status(engine, rgb, capsys):
    session = engine.new_session(rgb)

    def bad_click(s):
        engine.click(s, 1000, 5)

    def crash(s):
        raise RuntimeError('boom')

    image, status, same = webui._guard(engine, bad_click)(session)
    assert status.startswith('Error: The point (x=1000, y=5) is outside')
    assert same is session and (image == rgb).all()
    image, status, _ = webui._guard(engine, crash)(session)
    assert status.startswith('Error: RuntimeError: boom')
    assert 'Traceback' in capsys.readouterr().err  # logged on the console
    image, status, _ = webui._guard(
        engine, lambda s: engine.click(s, 30, 20) and None)(session)
    assert 'round 1' in status and not (image == rgb).all()


@needs_gradio
def test_layout_builds(engine):
    import gradio as gr
    app = webui.build_app(engine)
    assert isinstance(app, gr.Blocks)
    ids = {getattr(b, 'elem_id', None) for b in app.blocks.values()}
    for elem in ('upload', 'result', 'status', 'text', 'undo', 'reset',
                 'mode', 'scribble', 'reference', 'panoptic', 'things',
                 'model-info'):
        assert elem in ids, elem


@needs_gradio
def test_missing_checkpoint_is_a_clear_error(tiny_cfg_path, tmp_path,
                                             capsys):
    assert webui.main(['--config', tiny_cfg_path, '--checkpoint',
                       str(tmp_path / 'none.pth')]) == 2
    assert 'does not exist' in capsys.readouterr().err
