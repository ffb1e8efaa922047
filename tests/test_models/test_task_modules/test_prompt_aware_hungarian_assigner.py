"""PromptAwareHungarianAssigner on hand-built costs with known optima."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmseem.models.task_modules import (PromptAwareHungarianAssigner,
                                        QuerySoftmaxCost)


def _points(rows):
    """Mask logits / targets already at sampled points: [n, num_points]."""
    return torch.tensor(rows, dtype=torch.float32)


@pytest.fixture
def assigner():
    return PromptAwareHungarianAssigner(num_points=0)


def test_default_mode_matches_class_and_mask(assigner):
    # query 0 predicts GT 1's mask and class, query 2 GT 0's, query 1 junk
    big = 20.
    pred = InstanceData(
        scores=torch.tensor([[0., big, 0.], [0., 0., big], [big, 0., 0.]]),
        masks=_points([[-big, -big, big, big], [-big] * 4,
                       [big, big, -big, -big]]))
    gt = InstanceData(labels=torch.tensor([0, 1]),
                      masks=_points([[1, 1, 0, 0], [0, 0, 1, 1]]))
    res = assigner.assign(pred, gt)
    assert res.gt_inds.tolist() == [2, 0, 1]
    assert res.labels.tolist() == [1, -1, 0]


def test_default_mode_no_gt(assigner):
    pred = InstanceData(scores=torch.zeros(3, 2), masks=torch.zeros(3, 4))
    gt = InstanceData(labels=torch.zeros(0, dtype=torch.long),
                      masks=torch.zeros(0, 4))
    assert assigner.assign(pred, gt).gt_inds.tolist() == [0, 0, 0]


def test_grounding_mode_softmax_over_queries(assigner):
    # identical masks: only the class term decides. Phrase 0 is best
    # explained by query 1 and phrase 1 by query 0.
    scores = torch.tensor([[0., 5.], [5., 0.], [1., 1.]])
    pred = InstanceData(scores=scores, masks=torch.zeros(3, 4))
    gt = InstanceData(labels=torch.tensor([0, 1]), masks=torch.zeros(2, 4))
    res = assigner.assign(pred, gt, mode='grounding')
    assert res.gt_inds.tolist() == [2, 1, 0]
    cost = QuerySoftmaxCost(weight=2.)(pred, gt)
    assert torch.allclose(cost, -2. * scores.softmax(0))


def test_spatial_mode_blocks_other_prompts(assigner):
    # 2 prompts x 3 queries; every query of prompt 0 predicts GT 1's mask
    # perfectly and prompt 1's queries predict GT 0's mask: unconstrained
    # matching would cross prompts, the prompt-aware one must not.
    big = 20.
    m0 = [big, big, -big, -big]
    m1 = [-big, -big, big, big]
    pred = InstanceData(
        scores=torch.zeros(6, 2),
        masks=_points([m1, m1, m1, m0, m0, m0]),
        prompt_ids=torch.tensor([0, 0, 0, 1, 1, 1]))
    gt = InstanceData(labels=torch.tensor([0, 1]),
                      masks=_points([[1, 1, 0, 0], [0, 0, 1, 1]]),
                      prompt_ids=torch.tensor([0, 1]))
    res = assigner.assign(pred, gt, mode='spatial')
    inds = res.gt_inds
    matched = (inds > 0).nonzero().flatten()
    assert len(matched) == 2
    for q in matched.tolist():
        assert pred.prompt_ids[q] == gt.prompt_ids[inds[q] - 1]
    # the same problem without prompt ids crosses prompts
    free = assigner.assign(
        InstanceData(scores=pred.scores, masks=pred.masks),
        InstanceData(labels=gt.labels, masks=gt.masks))
    crossed = [(q, int(free.gt_inds[q]) - 1)
               for q in (free.gt_inds > 0).nonzero().flatten().tolist()]
    assert any(int(pred.prompt_ids[q]) != g for q, g in crossed)


def test_spatial_blocked_pair_never_returned(assigner):
    # prompt 1 has a GT but no query of its own: it stays unmatched even
    # though it is the only GT left for query 1
    pred = InstanceData(scores=torch.zeros(2, 2), masks=torch.zeros(2, 4),
                        prompt_ids=torch.tensor([0, 0]))
    gt = InstanceData(labels=torch.tensor([0, 1]), masks=torch.zeros(2, 4),
                      prompt_ids=torch.tensor([0, 1]))
    res = assigner.assign(pred, gt, mode='spatial')
    assert sorted(res.gt_inds.tolist()) == [0, 1]


def test_point_sampling_of_full_masks():
    a = PromptAwareHungarianAssigner(num_points=64)
    gt_m = torch.zeros(2, 16, 16)
    gt_m[0, :, :8] = 1
    gt_m[1, :, 8:] = 1
    pred = InstanceData(scores=torch.zeros(2, 3),
                        masks=(gt_m.flip(0) * 40 - 20))
    gt = InstanceData(labels=torch.tensor([0, 1]), masks=gt_m.bool())
    res = a.assign(pred, gt, generator=torch.Generator().manual_seed(0))
    assert res.gt_inds.tolist() == [2, 1]


def test_bad_arguments(assigner):
    pred = InstanceData(scores=torch.zeros(2, 2), masks=torch.zeros(2, 4))
    gt = InstanceData(labels=torch.tensor([0]), masks=torch.zeros(1, 4))
    with pytest.raises(ValueError, match='mode'):
        assigner.assign(pred, gt, mode='nope')
    with pytest.raises(ValueError, match='prompt_ids'):
        assigner.assign(pred, gt, mode='spatial')
    with pytest.raises(ValueError, match='num_points'):
        PromptAwareHungarianAssigner(num_points=-1)
