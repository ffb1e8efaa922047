import pytest
import torch

from mmseem.models.layers.memory_prompts import (assign_memories,
                                                 memory_cross_attn_mask,
                                                 prev_mask_to_attn_mask)


def test_assign_memories_sorted_and_seeded():
    g = torch.Generator().manual_seed(0)
    ids = assign_memories(3, 32, g)
    assert ids.shape == (32, ) and torch.equal(ids, ids.sort()[0])
    assert set(ids.tolist()) <= {0, 1, 2} and len(set(ids.tolist())) == 3
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(ids, assign_memories(3, 32, g2))
    with pytest.raises(ValueError):
        assign_memories(0, 4)


def test_memory_rows_follow_previous_mask():
    prev = torch.full((1, 2, 8, 8), -10.)
    prev[0, 0, :, :4] = 10.  # prompt 0: left half
    prev[0, 1, :4] = 10.  # prompt 1: top half
    m = prev_mask_to_attn_mask(prev, (4, 4), num_heads=2)
    assert m.shape == (2, 2, 16)
    left = torch.zeros(4, 4, dtype=torch.bool)
    left[:, :2] = True
    assert torch.equal(~m[0, 0], left.flatten())
    assert torch.equal(~m[1, 1], left.t().flatten())
    rows = memory_cross_attn_mask(prev, torch.tensor([0, 1, 1]), (4, 4), 2)
    assert torch.equal(rows[0, 0], m[0, 0]) and torch.equal(rows[1, 2],
                                                            m[1, 1])
    # bool masks give the same region
    mb = prev_mask_to_attn_mask(prev > 0, (4, 4), num_heads=2)
    assert torch.equal(mb, m)
