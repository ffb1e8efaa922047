import torch
from torch import nn

from mmseem.registry import MODELS


@MODELS.register_module(name='_TinyPixelDecoderForHeadTest', force=True)
class _TinyPixelDecoder(nn.Module):
    """Stand-in with the pixel decoder's ``forward_features`` contract."""

    def __init__(self, channels=32):
        super().__init__()
        self.proj = nn.ModuleDict({
            k: nn.Conv2d(c, channels, 1)
            for k, c in dict(res2=8, res3=16, res4=24, res5=32).items()
        })

    def forward_features(self, feats):
        p = {k: self.proj[k](v) for k, v in feats.items()}
        return p['res2'], p['res5'], [p['res5'], p['res4'], p['res3']]


def _feats():
    g = torch.Generator().manual_seed(0)
    return {
        f'res{i + 2}': torch.randn(1, c, 64 // s, 64 // s, generator=g)
        for i, (c, s) in enumerate([(8, 4), (16, 8), (24, 16), (32, 32)])
    }


@torch.no_grad()
def test_seem_head_forward_and_cached_decode(tiny):
    from mmseem.models.heads.seem_head import SEEMHead
    head = SEEMHead(
        pixel_decoder=dict(type='_TinyPixelDecoderForHeadTest'),
        predictor=dict(
            type='SEEMDecoder', lang_encoder=tiny.LanguageEncoder(),
            **tiny.cfg)).eval()
    assert set(dict(head.named_children())) == {'pixel_decoder', 'predictor'}
    feats = _feats()
    out = head(feats, task='panoptic')
    assert out['pred_masks'].shape == (1, 7, 16, 16)
    assert len(out['aux_outputs']) == 3
    pos, neg = tiny.masks(2)
    prompts = dict(spatial_query_pos_mask=[pos], spatial_query_neg_mask=[neg])
    g = torch.Generator().manual_seed(0)
    full = head(feats, 'interactive', dict(prompts), g)
    mf, ms = head.forward_features(feats)
    g = torch.Generator().manual_seed(0)
    cached = head.decode(mf, ms, 'interactive', dict(prompts), g)
    torch.testing.assert_close(full['prev_mask'], cached['prev_mask'])
    assert full['prev_mask'].shape == (1, 2, 16, 16)
