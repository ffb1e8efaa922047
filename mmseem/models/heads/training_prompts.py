"""SEEM's training-time prompt work, used by :meth:`SEEMHead.loss`.

SEEM-specific, not in mmdet/mmseg (official ``GeneralizedSEEM.forward_seg``):
encoding the grounding texts into decoder prompts, and the simulated
interaction (corrective click rounds without gradient whose last masks
become the memory prompts of the final pass).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from mmseem.structures.tasks import Task
from .decoder_prompts import DecoderPrompts
from .features import ImageFeatures

__all__ = ['encode_grounding', 'corrective_rounds']


def encode_grounding(lang_encoder, gtargets,
                      device) -> Tuple[Tensor, Tensor]:
    """Text tokens -> grounding tokens [T, B, C] + padding [B, T]
    (official ``grounding_query_embs``); sets each target's phrase
    embeddings ``class_emb`` (``grounding_class_embs``)."""
    flat = [x for t in gtargets for x in t.texts]
    enc = lang_encoder.encode_text(flat)
    tokens, start = [], 0
    for t in gtargets:
        n = len(t.texts)
        tok = enc['token_emb'][start:start + n]
        att = enc['attention_mask'][start:start + n].bool()
        t.class_emb = enc['class_emb'][start:start + n]
        first = {}
        for i, h in enumerate(t.hash):
            first.setdefault(h, i)
        uniq = sorted(first.values())
        tokens.append(torch.cat([tok[i][att[i]] for i in uniq]))
        start += n
    lens = [len(x) for x in tokens]
    g_tok = pad_sequence(tokens)  # [T, B, C], zero padded
    pad = torch.arange(g_tok.shape[0], device=device)[None] >= \
        torch.tensor(lens, device=device)[:, None]
    return g_tok, pad

@torch.no_grad()
def corrective_rounds(head, feats: ImageFeatures, sp, rounds: int,
                      gen) -> Optional[Tensor]:
    """Simulated interaction: decode, add one corrective click per
    prompt (the head criterion's simulator), repeat; returns the last
    round's ``prev_mask`` (None without rounds).

    The official rounds run the whole decoder; only the spatial queries'
    masks are read, so these rounds run the spatial queries alone
    (``spatial_only``: SEEM's self-attention mask keeps them apart from the
    object queries, same outputs up to float rounding, same random stream)
    on decoder features prepared once for all rounds (speed, issue 13)."""
    prev = None
    size = sp[0].gt.shape[-2:]
    simulator = head.criterion.simulator
    if rounds > 0:
        feats = head.prepare(feats)
    for _ in range(rounds):
        prompts = DecoderPrompts(
            spatial_pos_masks=[x.pos for x in sp],
            spatial_neg_masks=[x.neg for x in sp],
            prev_mask=prev, vocabulary=None, spatial_only=True)
        out = head.decode(feats.mask_features,
                          feats.multi_scale_features, Task.INTERACTIVE,
                          prompts, gen, feats.prepared)
        prev = out['prev_mask']
        up = F.interpolate(prev.float(), size=size, mode='bilinear',
                           align_corners=False).sigmoid() > 0.5
        for b, x in enumerate(sp):
            p = len(x.pos)
            nxt = simulator.next_click(up[b, :p], x.gt, x.pos, x.neg,
                                       x.fp)
            x.pos, x.neg = nxt['pos_masks'], nxt['neg_masks']
            x.fp = nxt['false_positive_mask']
    return prev
