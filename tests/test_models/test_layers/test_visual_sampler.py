import pytest
import torch

from mmseem.models.layers.visual_sampler import (SampledPromptTokens,
                                                 check_prompt_masks,
                                                 sample_prompt_points,
                                                 sample_visual_prompts)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _masks():
    pos = torch.zeros(2, 64, 64, dtype=torch.bool)
    pos[0, 5:20, 5:30] = True  # 375 px
    pos[1, 40:44, 50:55] = True  # 20 px
    neg = torch.zeros_like(pos)
    neg[0, 30:40, 0:10] = True
    return pos, neg


def test_points_inside_prompt_masks():
    pos, neg = _masks()
    for masks in (pos, neg):
        ids, pts = sample_prompt_points(masks, 64, _gen(0))
        assert len(ids) == min(64, int(masks.sum()))
        yx = (pts * torch.tensor([64, 64])).round().long()
        assert masks[ids, yx[:, 0], yx[:, 1]].all()
        assert len({tuple(r) for r in torch.cat([ids[:, None], yx], 1)
                    .tolist()}) == len(ids)  # without replacement


def test_all_points_when_few_pixels():
    pos, _ = _masks()
    ids, pts = sample_prompt_points(pos[1:], 512, _gen(0))
    assert len(ids) == 20 and (ids == 0).all()


def test_equal_mass_per_prompt():
    pos, _ = _masks()
    counts = []
    for seed in range(40):
        ids, _ = sample_prompt_points(pos, 16, _gen(seed))
        counts.append((ids == 1).sum().item())
    mean_small = sum(counts) / len(counts)
    # uniform over pixels would give 16 * 20 / 395 = 0.8
    assert 6.5 < mean_small < 9.5


def test_seeds():
    pos, _ = _masks()
    a = sample_prompt_points(pos, 32, _gen(1))[1]
    b = sample_prompt_points(pos, 32, _gen(1))[1]
    c = sample_prompt_points(pos, 32, _gen(2))[1]
    assert torch.equal(a, b) and not torch.equal(a, c)


def _run(pos, neg, gen, C=4):
    torch.manual_seed(0)
    mf = torch.randn(1, C, 16, 16)
    levels = [torch.randn(1, C, s, s) for s in (2, 4, 8)]
    embeds = [torch.randn(C, C) for _ in range(3)]
    pn = torch.randn(2, C)
    return sample_visual_prompts([pos], [neg], mf, levels, embeds, pn,
                                 [8, 8, 8, 8], gen), (mf, levels, embeds, pn)


def test_tokens_positive_negative_apart():
    pos, neg = _masks()
    vp, _ = _run(pos, neg, _gen(0))
    assert vp.pos_embeds.shape == (2, 1, 4) and vp.num_prompts == 2
    # prompt 1 has no negative pixel -> -1 placeholder vector
    assert torch.equal(vp.neg_embeds[1, 0], -torch.ones(4))
    # zero level features: a token is exactly its indicator
    pn = torch.randn(2, 4)
    levels = [torch.zeros(1, 4, s, s) for s in (2, 4, 8)]
    vp = sample_visual_prompts([pos], [neg], torch.randn(1, 4, 16, 16),
                               levels, [torch.eye(4)] * 3, pn, [8, 8, 8, 8],
                               _gen(0))
    for lvl in range(3):
        ids, pad = vp.level_prompt_ids[lvl][0], vp.level_padding[lvl][0]
        assert torch.equal(pad, ids < 0) and not pad.any()
        assert len(ids) == 8 + 8  # 8 positive, then 8 negative points
        assert (ids[8:] == 0).all()  # only prompt 0 has negative pixels
        tok = vp.level_tokens[lvl][:, 0]
        torch.testing.assert_close(tok[:8], pn[0].expand(8, 4))
        torch.testing.assert_close(tok[8:], pn[1].expand(8, 4))


def test_point_convention_normalise_by_hw_align_corners():
    # one pixel at (y=32, x=32) of a 64x64 mask on a 16x16 ramp:
    # x / W = 0.5 -> with align_corners=True -> 0.5 * 15 = 7.5
    pos = torch.zeros(1, 64, 64, dtype=torch.bool)
    pos[0, 32, 32] = True
    ramp = torch.arange(16.).repeat(16, 1)  # value = column
    mf = torch.stack([ramp, ramp.t()])[None]  # channels: x, y
    levels = [torch.zeros(1, 2, s, s) for s in (2, 4, 8)]
    vp = sample_visual_prompts([pos], [torch.zeros_like(pos)], mf, levels,
                               [torch.eye(2)] * 3, torch.zeros(2, 2),
                               [4, 4, 4, 4], _gen(0))
    torch.testing.assert_close(vp.pos_embeds[0, 0], torch.tensor([7.5,
                                                                  7.5]))


def test_check_prompt_masks_errors():
    pos, neg = _masks()
    empty = pos.clone()
    empty[1] = False
    with pytest.raises(ValueError, match='no positive pixel'):
        check_prompt_masks([empty], [neg], 1)
    neg_only = neg.clone()
    neg_only[1, 0, 0] = True
    with pytest.raises(ValueError, match=r'negative-only: \[1\]'):
        check_prompt_masks([empty], [neg_only], 1)
    with pytest.raises(ValueError, match='padded input'):
        check_prompt_masks([pos], [neg], 1, input_size=(128, 128))
    with pytest.raises(ValueError, match='batch size'):
        check_prompt_masks([pos], [neg], 2)
    with pytest.raises(ValueError, match='no visual prompt'):
        check_prompt_masks([pos[:0]], None, 1)
    p, n = check_prompt_masks([pos.float()], None, 1)
    assert p[0].dtype == torch.bool and not n[0].any()


def test_refimg_dict_roundtrip_and_broadcast():
    pos, neg = _masks()
    vp, _ = _run(pos, neg, _gen(0))
    vp2 = SampledPromptTokens.from_dict(vp.to_dict(), batch_size=3)
    assert vp2.pos_embeds.shape == (2, 3, 4)
    assert vp2.level_prompt_ids[0].shape[0] == 3
    torch.testing.assert_close(vp2.level_tokens[1][:, 2], vp.level_tokens[1]
                               [:, 0])
    with pytest.raises(ValueError, match='refimg_tokens lacks'):
        SampledPromptTokens.from_dict({'spatial_query_pos': vp.pos_embeds}, 1)


def test_precomputed_projections_give_same_tokens():
    from mmseem.models.layers.visual_sampler import (project_level_features,
                                                     sample_visual_prompts)
    g = torch.Generator().manual_seed(0)
    levels = [torch.randn(1, 8, s, s, generator=g) for s in (2, 4, 8)]
    mf = torch.randn(1, 8, 16, 16, generator=g)
    w = [torch.randn(8, 8, generator=g) for _ in range(3)]
    pn = torch.randn(2, 8, generator=g)
    pos = torch.zeros(2, 64, 64, dtype=torch.bool)
    pos[0, 5:20, 5:20] = True
    pos[1, 30:50, 40:60] = True
    neg = torch.zeros_like(pos)
    neg[0, 40:45, 10:12] = True

    def run(projected):
        return sample_visual_prompts([pos], [neg], mf, levels, w, pn,
                                     [6, 6, 6, 6],
                                     torch.Generator().manual_seed(1),
                                     projected)

    proj = project_level_features(levels, w)
    assert [p.shape for p in proj] == [x.shape for x in levels]
    a, b = run(None), run(proj)
    for x, y in zip(a.level_tokens, b.level_tokens):
        assert torch.equal(x, y)
    with pytest.raises(ValueError, match='every level'):
        run(proj[:2])
