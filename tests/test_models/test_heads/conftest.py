"""Tiny stand-ins shared by the head tests (hidden 32, 2 heads, 3 layers)."""
import math
from types import SimpleNamespace

import pytest

import torch
from torch import nn


class TinyLanguageEncoder(nn.Module):
    """Same interface as LanguageEncoder for the decoder: ``logit_scale``,
    ``get_class_embeddings`` and ``compute_similarity``."""

    def __init__(self, dim=32, num_classes=5):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        g = torch.Generator().manual_seed(0)
        emb = torch.randn(num_classes + 1, dim, generator=g)
        self.text_embeddings = {'default': emb / emb.norm(dim=-1,
                                                          keepdim=True)}

    def get_class_embeddings(self, class_names, name='default', **kwargs):
        return self.text_embeddings[name]

    def compute_similarity(self, v_emb, name='default'):
        v = v_emb / (v_emb.norm(dim=-1, keepdim=True) + 1e-7)
        return self.logit_scale.exp() * v @ self.text_embeddings[name].t()


TINY = dict(
    in_channels=32,
    hidden_dim=32,
    dim_proj=32,
    num_queries=7,
    nheads=2,
    dim_feedforward=64,
    dec_layers=3,
    mask_dim=32,
    max_spatial_len=(16, 16, 16, 16),
    num_spatial_memories=5)


def tiny_decoder(**kw):
    from mmseem.models.heads.seem_decoder import SEEMDecoder
    torch.manual_seed(0)
    cfg = dict(TINY, **kw)
    return SEEMDecoder(lang_encoder=TinyLanguageEncoder(), **cfg).eval()


def tiny_features(bs=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    ms = [torch.randn(bs, 32, s, s, generator=g) for s in (2, 4, 8)]
    mf = torch.randn(bs, 32, 16, 16, generator=g)
    return ms, mf


def prompt_masks(num_prompts=2, size=64):
    pos = torch.zeros(num_prompts, size, size, dtype=torch.bool)
    for p in range(num_prompts):
        pos[p, 8 + 20 * p:20 + 20 * p, 10:30 + 5 * p] = True
    neg = torch.zeros_like(pos)
    neg[0, 50:60, 50:60] = True
    return pos, neg


@pytest.fixture
def tiny():
    """Helpers: ``decoder(**kw)``, ``features(bs, seed)``, ``masks(P)``,
    ``LanguageEncoder``, ``cfg`` (tiny decoder kwargs)."""
    return SimpleNamespace(
        decoder=tiny_decoder,
        features=tiny_features,
        masks=prompt_masks,
        LanguageEncoder=TinyLanguageEncoder,
        cfg=dict(TINY))
