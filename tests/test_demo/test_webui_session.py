"""The web demo's logic without a browser: uploads, clicks and their
rounds, undo/reset, box/scribble/text/reference/panoptic, errors, drawing."""
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from mmseem.apis import SEEMPredictor
from webui_session import (DemoEngine, DemoError, Session, check_image,
                           editor_mask, panoptic_to_masks, parse_vocabulary)


@pytest.fixture
def engine(demo_model):
    demo_model.set_vocabulary(['circle', 'square'], ['sky'])
    return DemoEngine(SEEMPredictor(demo_model), 'tiny model',
                      max_pixels=200 * 200)


@pytest.fixture
def session(engine, rgb):
    return engine.new_session(rgb)


def test_features_once_per_image_then_prompt_path_only(engine, rgb,
                                                       demo_model):
    with mock.patch.object(demo_model, 'extract_feat',
                           wraps=demo_model.extract_feat) as feat:
        s = engine.new_session(rgb)
        engine.click(s, 30, 20)
        engine.click(s, 60, 40, positive=False)
        engine.box_corner(s, 5, 5)
        engine.box_corner(s, 50, 40)
        engine.refer(s, 'the circle')
        engine.undo(s)
        assert feat.call_count == 1
        engine.new_session(rgb[::-1].copy())
        assert feat.call_count == 2


def test_rounds_accumulate_with_memory(engine, session, demo_model):
    seen = []
    real = demo_model.predict_prompts

    def spy(feats, samples, **kwargs):  # kwargs: the session's generator
        vp = samples[0].visual_prompts
        seen.append((int(vp.pos_masks.sum()), int(vp.neg_masks.sum()),
                     samples[0].get('prev_mask') is not None))
        return real(feats, samples, **kwargs)

    with mock.patch.object(demo_model, 'predict_prompts', side_effect=spy):
        r1 = engine.click(session, 30, 20)
        engine.click(session, 60, 40, positive=False)
        engine.click(session, 80, 10)
    # one object, growing: 9 px per click (3 x 3), negatives apart
    assert seen == [(9, 0, False), (9, 9, True), (18, 9, True)]
    assert r1.masks.shape == (1, 70, 100) and r1.masks.dtype == bool
    assert r1.label_names[0] in ('circle', 'square', 'sky')


def test_undo_replays_exactly_and_reset(engine, session, demo_model):
    memories = []
    real = demo_model.predict_prompts

    def spy(feats, samples, **kwargs):  # kwargs: the session's generator
        memories.append(samples[0].get('prev_mask'))
        return real(feats, samples, **kwargs)

    with mock.patch.object(demo_model, 'predict_prompts', side_effect=spy):
        r1 = engine.click(session, 30, 20)
        r2 = engine.click(session, 60, 40, positive=False)
        r3 = engine.click(session, 80, 10)
        back = engine.undo(session)  # replays rounds 1 and 2
        again = engine.click(session, 80, 10)
    assert back is r2
    # round 3 after undo sees exactly the memory it saw the first time
    assert len(memories) == 6
    torch.testing.assert_close(memories[5], memories[2])
    np.testing.assert_array_equal(again.masks, r3.masks)
    assert engine.undo(session) is r2
    assert engine.undo(session) is r1
    assert len(session.actions) == 1
    engine.reset(session)
    assert session.actions == [] and engine.current(session) is None
    with pytest.raises(DemoError, match='Nothing to undo'):
        engine.undo(session)


def test_box_from_two_corners(engine, session):
    assert engine.box_corner(session, 50, 40) is None
    assert session.box_corner == (50.0, 40.0)
    res = engine.box_corner(session, 10, 5)
    assert res.kind == 'interactive'
    assert session.actions[-1].xy == (10.0, 5.0, 50.0, 40.0)
    engine.box_corner(session, 10, 10)
    with pytest.raises(DemoError, match='box is empty'):
        engine.box_corner(session, 10.5, 30)


def test_scribble_and_editor_mask(engine, session):
    layer = np.zeros((70, 100, 4), np.uint8)
    layer[30:33, 10:60, 3] = 255
    mask = editor_mask(dict(background=None, layers=[layer]), (70, 100))
    assert mask.sum() == 150
    res = engine.scribble(session, mask)
    assert res.masks.shape == (1, 70, 100)
    assert session.actions[-1].kind == 'scribble'
    assert editor_mask(dict(layers=[np.zeros((70, 100, 4), np.uint8)]),
                       (70, 100)) is None
    with pytest.raises(DemoError, match='Nothing was drawn'):
        engine.scribble(session, None)


def test_referring_reference_and_panoptic(engine, session, rgb):
    res = engine.refer(session, '  the red circle ')
    assert res.kind == 'referring' and res.label_names == ('the red circle', )
    assert res.masks.shape == (1, 70, 100)
    ref_mask = np.zeros((70, 100), bool)
    ref_mask[10:30, 20:50] = True
    res = engine.refer_image(session, rgb[:, ::-1].copy(), ref_mask)
    assert res.kind == 'reference' and res.masks.shape == (1, 70, 100)
    res = engine.panoptic(session, 'cat, dog', 'sky , grass')
    assert res.kind == 'panoptic'
    assert set(res.label_names) <= {'cat', 'dog', 'sky', 'grass'}
    assert engine.vocabulary() == (['cat', 'dog'], ['sky', 'grass'])
    if len(res.masks):  # panoptic segments do not overlap
        assert res.masks.sum(0).max() == 1
    # undo walks back through the kinds of results
    assert engine.undo(session).kind == 'reference'
    assert engine.undo(session).kind == 'referring'


def test_user_errors_are_demo_errors(engine, session, tmp_path):
    with pytest.raises(DemoError, match='outside the image'):
        engine.click(session, 150, 20)
    with pytest.raises(DemoError, match='outside the image'):
        engine.box_corner(session, -3, 20)
    with pytest.raises(DemoError, match='negative click alone'):
        engine.click(session, 30, 20, positive=False)
    assert session.actions == []  # failed actions leave no trace
    with pytest.raises(DemoError, match='Type a sentence'):
        engine.refer(session, '   ')
    with pytest.raises(DemoError, match='vocabulary is empty'):
        engine.panoptic(session, ' , ', '')
    with pytest.raises(DemoError, match='unique'):
        parse_vocabulary('cat, cat')
    with pytest.raises(DemoError, match='upload an image'):
        engine.click(Session(), 1, 1)
    with pytest.raises(DemoError, match='Mark a region'):
        engine.refer_image(session, np.zeros((20, 20, 3), np.uint8), None)


def test_uploads_checked(tmp_path, rgb):
    txt = tmp_path / 'notes.txt'
    txt.write_text('hello')
    with pytest.raises(DemoError, match='not an image file'):
        check_image(str(txt))
    fake = tmp_path / 'fake.png'
    fake.write_bytes(b'this is not a png')
    with pytest.raises(DemoError, match='Cannot read the upload'):
        check_image(str(fake))
    big = tmp_path / 'big.png'
    Image.new('RGB', (300, 200)).save(big)
    with pytest.raises(DemoError, match='300 x 200 pixels.*downscale'):
        check_image(str(big), max_pixels=200 * 200)
    with pytest.raises(DemoError, match='at most'):
        check_image(np.zeros((300, 300, 3), np.uint8), max_pixels=200 * 200)
    with pytest.raises(DemoError, match='upload an image first'):
        check_image(None)
    ok = tmp_path / 'ok.png'
    Image.fromarray(rgb).save(ok)
    np.testing.assert_array_equal(check_image(str(ok)), rgb)


def test_render_shows_masks_prompts_and_sentence(engine, session, rgb):
    assert (engine.render(session) == rgb).all()  # nothing yet
    engine.click(session, 30, 20)
    drawn = engine.render(session)
    assert drawn.shape == rgb.shape
    diff = np.abs(drawn.astype(int) - rgb.astype(int)).sum(-1) > 0
    assert diff[18:23, 28:33].all()  # the click is drawn
    assert 'round 1' in engine.describe(session)
    engine.refer(session, 'the square')
    drawn = engine.render(session)
    diff = np.abs(drawn.astype(int) - rgb.astype(int)).sum(-1) > 0
    assert diff[:8, :30].any()  # the sentence box at the top-left
    assert 'referring' in engine.describe(session)


def test_panoptic_map_to_masks():
    pan = np.array([[0 + 1000, 0 + 2000], [2, 3]])  # void = 3
    masks, names = panoptic_to_masks(pan, ['a', 'b', 'c'])
    assert names == ('c', 'a', 'a')
    assert masks.shape == (3, 2, 2) and masks.sum() == 3


def test_random_weights_said_in_page(tiny_cfg_path, tmp_path):
    from webui_session import load_engine
    eng = load_engine(tiny_cfg_path, None)
    assert 'RANDOM weights' in eng.model_info
    assert 'meaningless' in eng.model_info
    with pytest.raises(DemoError, match='does not exist'):
        load_engine(tiny_cfg_path, str(tmp_path / 'missing.pth'))
