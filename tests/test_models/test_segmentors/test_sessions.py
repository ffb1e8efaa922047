"""One random stream per interactive image session (official behaviour)."""
from pathlib import Path

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config

from mmseem.models.segmentors.image_session import ImageSession
from mmseem.registry import MODELS
from mmseem.structures import VisualPrompts

CFG = Path(__file__).resolve().parents[3] / 'configs' / 'seem' / \
    'seem_tiny_synthetic-panoptic.py'


@pytest.fixture(scope='module')
def setup():
    import mmseem.models  # noqa: F401
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(CFG)).model).eval()
    model.set_vocabulary(['circle', 'square'], ['sky'])
    img = torch.randint(0, 256, (3, 64, 96),
                        generator=torch.Generator().manual_seed(1)).float()
    meta = dict(img_shape=(64, 96), ori_shape=(64, 96))
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[DetDataSample(metainfo=meta)]),
        False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'], prepare=True)
    return model, feats, data['data_samples'][0].metainfo


def _sample(meta, clicks, prev=None):
    ds = DetDataSample(metainfo=meta)
    ds.visual_prompts = VisualPrompts.from_points(
        [clicks], labels=[[1] * len(clicks)], image_size=(64, 96))
    if prev is not None:
        ds.prev_mask = prev
    return ds


@torch.no_grad()
def test_rounds_continue_one_stream(setup):
    model, feats, meta = setup
    rounds = [[(30., 20.)], [(30., 20.), (40., 30.)],
              [(30., 20.), (40., 30.), (50., 25.)]]

    def play(gen_of_round):
        prev, outs = None, []
        for r, clicks in enumerate(rounds):
            res = model.predict_prompts(feats, [_sample(meta, clicks, prev)],
                                        generator=gen_of_round(r))[0]
            prev = res.pred_instances.prev_mask
            outs.append(prev)
        return outs

    gen = model.session_generator(feats.device)
    session = play(lambda r: gen)
    again = model.session_generator(feats.device)
    assert all(torch.equal(a, b) for a, b in zip(session, play(
        lambda r: again)))  # reproducible from the seed
    fresh = play(lambda r: None)  # a new generator every round (old way)
    assert torch.equal(session[0], fresh[0])  # round 1: same draws
    assert not torch.equal(session[2], fresh[2])  # later rounds: stream on


@torch.no_grad()
def test_image_session_owns_stream_and_prepared_view(setup):
    model, feats, meta = setup
    plain = feats.select(0)  # no prepared view
    session = ImageSession(model, plain)
    assert plain.prepared is None  # the caller's features stay as they were
    assert session.test_cfg is model.test_cfg  # the rest is the model's
    first = session.predict_prompts(plain, [_sample(meta, [(30., 20.)])])
    gen = model.session_generator(feats.device)
    ref = model.predict_prompts(feats, [_sample(meta, [(30., 20.)])],
                                generator=gen)
    assert torch.equal(first[0].pred_instances.prev_mask,
                       ref[0].pred_instances.prev_mask)
    assert session.generator.get_state().equal(gen.get_state())
