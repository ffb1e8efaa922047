"""SEEM web demo (Gradio): clicks, boxes, scribbles, sentences, a reference
image and an editable vocabulary, on one uploaded image.

    python demo/webui.py --config CONFIG [--checkpoint CKPT] [--device cpu]
        [--host 127.0.0.1] [--port 7860]

Without ``--checkpoint`` the model has random weights (the page says so:
its masks are meaningless), e.g. for trying the page with
``configs/seem/seem_tiny_synthetic-panoptic.py``. The page listens on
127.0.0.1 only unless ``--host`` says otherwise. Only the layout is here;
the state, prompts, undo and drawing are in ``demo/webui_session.py``.
"""
import argparse
import functools
import ipaddress
import os
import sys
import traceback

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from webui_session import (IMAGE_TYPES, MAX_PIXELS, MAX_UPLOAD_MB,  # noqa
                           DemoError, editor_mask, load_engine)

MODES = ('positive click', 'negative click', 'box (two corners)')


def _guard(engine, fn):
    """Run a handler; a user error or a failure becomes a status message
    (the page never breaks), the drawing shows the state as it is."""

    @functools.wraps(fn)  # keeps ``evt: gr.SelectData`` visible to Gradio
    def wrapped(session, *args):
        try:
            message = fn(session, *args)
        except DemoError as err:
            message = f'Error: {err}'
        except Exception as err:  # noqa: BLE001  (shown, not raised)
            traceback.print_exc()
            message = f'Error: {type(err).__name__}: {err}'
        status = engine.describe(session)
        if message:
            status = f'{message}\n{status}' if message.startswith(
                'Error') else message
        return engine.render(session), status, session

    return wrapped


def build_app(engine):
    import gradio as gr
    things, stuff = engine.vocabulary()

    def upload(path, old):
        try:
            session = engine.new_session(path)
        except DemoError as err:  # keep what was there
            return (engine.render(old), f'Error: {err}', old, gr.skip(),
                    None)
        editor = dict(background=session.image, layers=[],
                      composite=session.image)
        # the file box is emptied so that the next upload is a fresh one
        return (engine.render(session), engine.describe(session), session,
                editor, None)

    def on_select(session, mode, evt: gr.SelectData):
        x, y = (float(v) for v in evt.index[:2])
        if mode == MODES[2]:
            engine.box_corner(session, x, y)
        else:
            engine.click(session, x, y, positive=(mode == MODES[0]))

    def on_scribble(session, value):
        if session is None or session.image is None:
            raise DemoError('No image: upload an image first.')
        engine.scribble(session, editor_mask(value, session.image.shape[:2]))

    def on_reference(session, value):
        if not isinstance(value, dict) or value.get('background') is None:
            raise DemoError('Upload a reference image and paint a region '
                            'of it first.')
        ref = value['background']
        if ref.ndim == 3 and ref.shape[-1] == 4:
            ref = ref[..., :3]
        engine.refer_image(session, ref, editor_mask(value, ref.shape[:2]))

    with gr.Blocks(title='SEEM demo') as app:
        gr.Markdown('## SEEM: Segment Everything Everywhere All at Once')
        gr.Markdown(engine.model_info, elem_id='model-info')
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                mp = engine.max_pixels / 1e6
                up = gr.File(label='Upload an image (PNG/JPEG, at most '
                             f'{MAX_UPLOAD_MB} MB, {mp:.1f} MP)',
                             file_types=list(IMAGE_TYPES),
                             type='filepath', elem_id='upload')
                mode = gr.Radio(list(MODES), value=MODES[0],
                                label='A click on the result adds a',
                                elem_id='mode')
                with gr.Row():
                    undo = gr.Button('Undo', elem_id='undo')
                    reset = gr.Button('Reset', elem_id='reset')
                text = gr.Textbox(label='Referring sentence',
                                  placeholder='the dog on the left',
                                  elem_id='text')
                refer = gr.Button('Segment the sentence', elem_id='refer')
                with gr.Accordion('Vocabulary and panoptic', open=False):
                    thing_box = gr.Textbox(', '.join(things),
                                           label='Thing classes (commas)',
                                           elem_id='things')
                    stuff_box = gr.Textbox(', '.join(stuff),
                                           label='Stuff classes (commas)',
                                           elem_id='stuff')
                    pan = gr.Button('Panoptic', elem_id='panoptic')
            with gr.Column(scale=2):
                gr.Markdown('**Result**: click on it to prompt')
                out = gr.Image(label='Result', show_label=False,
                               interactive=False, type='numpy',
                               format='png', elem_id='result')
                status = gr.Textbox(label='Status', interactive=False,
                                    lines=2, elem_id='status')
        with gr.Row():
            with gr.Column():
                scribble = gr.ImageEditor(
                    label='Scribble on the image', type='numpy',
                    sources=(), layers=False, transforms=(),
                    brush=gr.Brush(colors=['#00e000'], default_size=12),
                    elem_id='scribble')
                scribble_btn = gr.Button('Segment scribble',
                                         elem_id='scribble-go')
            with gr.Column():
                ref = gr.ImageEditor(
                    label='Reference image: paint the object to find',
                    type='numpy', sources=('upload', ), layers=False,
                    transforms=(),
                    brush=gr.Brush(colors=['#00e000'], default_size=12),
                    elem_id='reference')
                ref_btn = gr.Button('Find it in the image',
                                    elem_id='reference-go')

        outs = [out, status, state]
        up.upload(upload, [up, state], [out, status, state, scribble, up])
        out.select(_guard(engine, on_select), [state, mode], outs)
        undo.click(_guard(engine, lambda s: engine.undo(s) and None),
                   [state], outs)
        reset.click(_guard(engine, engine.reset), [state], outs)
        refer.click(_guard(engine, lambda s, t: engine.refer(s, t) and None),
                    [state, text], outs)
        text.submit(_guard(engine, lambda s, t: engine.refer(s, t) and None),
                    [state, text], outs)
        pan.click(_guard(engine,
                         lambda s, t, f: engine.panoptic(s, t, f) and None),
                  [state, thing_box, stuff_box], outs)
        scribble_btn.click(_guard(engine, on_scribble), [state, scribble],
                           outs)
        ref_btn.click(_guard(engine, on_reference), [state, ref], outs)
    return app


def is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', required=True, help='SEEM config file')
    p.add_argument('--checkpoint', default=None,
                   help='weights (converted official or mmseem training '
                   'checkpoint); omitted: random weights')
    p.add_argument('--device', default='cpu')
    p.add_argument('--host', default='127.0.0.1',
                   help='address to listen on (default 127.0.0.1: this '
                   'machine only; 0.0.0.0 exposes the demo to the network)')
    p.add_argument('--port', type=int, default=7860)
    p.add_argument('--max-pixels', type=int, default=MAX_PIXELS,
                   help='largest accepted image, in pixels')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        print('error: the web demo needs gradio: pip install -c '
              'requirements/constraints.txt -r requirements/optional.txt',
              file=sys.stderr)
        return 2
    try:
        engine = load_engine(args.config, args.checkpoint, args.device,
                             max_pixels=args.max_pixels)
    except DemoError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(f'warning: listening on {args.host}: the demo is reachable '
              'from other machines', file=sys.stderr)
    print(engine.model_info, flush=True)
    app = build_app(engine)
    app.queue(default_concurrency_limit=1)
    app.launch(server_name=args.host, server_port=args.port, share=False,
               max_file_size=f'{MAX_UPLOAD_MB}mb', show_error=True,
               ssr_mode=False, quiet=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
