import torch

from mmseem.models.layers.attention_mask import (QueryLayout,
                                                 build_self_attn_mask,
                                                 cross_attn_order,
                                                 self_attn_order)


def _small_layout():
    # 2 object, 2 grounding queries, 2 prompts x 3 spatial queries,
    # 2 grounding tokens (image 1: second one padded), 5 spatial tokens,
    # 3 memories tied to prompts 0, 0, 1.
    return QueryLayout(
        num_object=2,
        num_grounding=2,
        num_prompts=2,
        queries_per_prompt=3,
        grounding_padding=torch.tensor([[False, False], [False, True]]),
        spatial_token_ids=torch.tensor([[0, 0, 1, 1, -1], [0, 1, 1, 1, 1]]),
        memory_ids=torch.tensor([0, 0, 1]))


def _expected_visible(layout, b):
    """Independent, element-wise statement of SEEM's visibility rules."""
    kinds = []  # (kind, prompt id / padded flag)
    kinds += [('obj', None)] * layout.num_object
    kinds += [('gq', None)] * layout.num_grounding
    kinds += [('sq', p) for p in range(layout.num_prompts)
              for _ in range(layout.queries_per_prompt)]
    kinds += [('gt', bool(x)) for x in layout.grounding_padding[b]]
    kinds += [('st', int(x)) for x in layout.spatial_token_ids[b]]
    kinds += [('mem', int(x)) for x in layout.memory_ids]

    def visible(r, c):
        (kr, ar), (kc, ac) = r, c
        if kr == 'obj':
            return kc == 'obj'
        if kr == 'gq':
            return kc == 'gq' or (kc == 'gt' and not ac)
        if kr == 'gt':
            return (not ar) and (kc == 'gq' or (kc == 'gt' and not ac))
        if kr == 'sq':
            return kc in ('sq', 'st', 'mem') and ac == ar
        if kr == 'st':
            return kc == 'st' and ac == ar
        if kr == 'mem':
            return kc == 'mem' and ac == ar
        raise AssertionError

    n = len(kinds)
    return torch.tensor([[visible(kinds[i], kinds[j]) for j in range(n)]
                         for i in range(n)])


def test_layout_order():
    lay = _small_layout()
    s = self_attn_order(lay)
    assert [(k, v.start, v.stop) for k, v in s.items()] == [
        ('object', 0, 2), ('grounding', 2, 4), ('spatial', 4, 10),
        ('grounding_tokens', 10, 12), ('spatial_tokens', 12, 17),
        ('memories', 17, 20)
    ]
    c = cross_attn_order(lay)
    assert [(k, v.start, v.stop) for k, v in c.items()] == [
        ('object', 0, 2), ('grounding', 2, 4), ('spatial', 4, 10),
        ('memories', 10, 13)
    ]


def test_mask_entry_by_entry():
    lay = _small_layout()
    mask = build_self_attn_mask(lay, batch_size=2, num_heads=2)
    assert mask.shape == (4, 20, 20) and mask.dtype == torch.bool
    for b in range(2):
        exp_visible = _expected_visible(lay, b)
        for h in range(2):
            assert torch.equal(~mask[b * 2 + h], exp_visible), (b, h)


def test_mask_key_relations():
    lay = _small_layout()
    m = build_self_attn_mask(lay, 2, 1)[0]  # image 0
    s = self_attn_order(lay)
    ob, sq, gq, gt, st, me = (s['object'], s['spatial'], s['grounding'],
                              s['grounding_tokens'], s['spatial_tokens'],
                              s['memories'])
    assert not m[ob, ob].any()  # object <-> object visible
    assert m[ob, sq].all() and m[sq, ob].all()  # object -/- spatial
    assert m[ob, gt].all() and m[gq, ob].all()
    assert not m[gq, gt].any() and not m[gt, gq].any()  # grounding <-> tok
    # spatial queries of prompt 0 (4..6) vs prompt 1 (7..9)
    assert not m[4:7, 4:7].any() and m[4:7, 7:10].all()
    # prompt 0 queries see prompt 0 tokens (12, 13) but not 14, 15, pad 16
    assert not m[4:7, 12:14].any() and m[4:7, 14:17].all()
    # prompt 1 queries see memory 19 only; prompt 0 memories 17, 18
    assert m[7:10, 17:19].all() and not m[7:10, 19].any()
    assert not m[4:7, 17:19].any() and m[4:7, 19].all()
    # spatial and grounding never see each other
    assert m[sq, gq].all() and m[sq, gt].all() and m[gq, st].all()
    assert m[me, sq].all()  # memories do not see queries


def test_no_spatial_no_grounding_is_object_only():
    lay = QueryLayout(num_object=3)
    m = build_self_attn_mask(lay, 2, 2)
    assert m.shape == (4, 3, 3) and not m.any()
