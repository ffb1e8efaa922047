"""Guard: the outputs of a full-size SEEM must not move (issue 11).

A seeded random Focal-T SEEM (normalisation weights +1) on a generated image
(always) and on the real COCO sample (when ../shared/data is present):
the panoptic decoder outputs of every prediction set and the post-processed
results, three interactive rounds with memory and grounding (see
``seem_outputs.py``) must match ``tests/data/regression/
seem_focalt_outputs.json`` up to float noise: values within
``1e-4 * scale + 1e-4 * |value|`` (rtol 1e-4, atol 1e-4 x the tensor's
scale = max(std, mean |x|)), ids / labels exactly, pixel areas within 0.2 %
of the image. Running on 2 threads instead of 1 moves values by at most
2e-5 x scale; +1e-3 on one weight of ``mask_embed`` or of the backbone's
patch embedding fails the test (``test_a_perturbed_weight_fails``).

The test never rewrites the fixture; to record an intended change run
``OMP_NUM_THREADS=1 python tests/regression/seem_outputs.py --write
[--only PREFIX ...]`` and say so in the commit message.
"""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import seem_outputs  # noqa: E402


@pytest.fixture(scope='module')
def model():
    return seem_outputs.seeded_model()


@pytest.fixture(scope='module')
def fixture():
    return seem_outputs.load_fixture()['cases']


def _check(fixture, model, case, rgb):
    errors = seem_outputs.compare(fixture[case],
                                  seem_outputs.record(model, rgb))
    assert not errors, (f'{case}: {len(errors)} outputs moved beyond float '
                        'noise:\n' + '\n'.join(errors[:30]))


def test_outputs_generated_image(fixture, model):
    _check(fixture, model, 'generated', seem_outputs.generated_image())


def test_outputs_coco_sample(fixture, model, shared_data):
    _check(fixture, model, 'coco',
           seem_outputs.coco_image(str(shared_data)))


def test_comparison_catches_a_change(fixture):
    """The comparison itself: a change of 1e-3 in one sampled value or one
    pixel id is reported; the recorded values pass."""
    case = fixture['generated']
    assert not seem_outputs.compare(case, case)
    name = 'panoptic/set9/pred_masks'
    moved = {k: dict(v) for k, v in case.items()}
    moved[name]['samples'] = list(case[name]['samples'])
    moved[name]['samples'][0] += 1e-3 * case[name]['std']
    assert seem_outputs.compare(case, moved)
    moved = {k: dict(v) for k, v in case.items()}
    moved['panoptic/segments']['ids'] = \
        case['panoptic/segments']['ids'][:-1] + [12345]
    assert seem_outputs.compare(case, moved)


def test_a_perturbed_weight_fails(fixture, model):
    """+1e-3 on one weight of the mask embedding MLP moves the outputs
    beyond the tolerance (the weight is restored afterwards)."""
    import torch
    weight = model.sem_seg_head.predictor.mask_embed.layers[0].weight
    old = weight[0, 0].item()
    with torch.no_grad():
        weight[0, 0] += 1e-3
    try:
        errors = seem_outputs.compare(
            fixture['generated'],
            seem_outputs.record(model, seem_outputs.generated_image()))
    finally:
        with torch.no_grad():
            weight[0, 0] = old
    assert len(errors) > 10
