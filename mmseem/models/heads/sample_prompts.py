"""Prompts read from data samples, for the SEEM head.

SEEM-specific, not in mmdet/mmseg: a data sample carries its prompts as
``visual_prompts`` (:class:`mmseem.structures.VisualPrompts`, in the
sample's ``img_shape`` or original pixels), ``prev_mask`` (the previous
round's memory logits) and ``text`` (a sentence or a list). These helpers
turn them into the decoder's :class:`~.decoder_prompts.DecoderPrompts`
fields; text is encoded by the language encoder given.
"""
from typing import List, Sequence, Tuple

from torch import Tensor

from .decoder_prompts import DecoderPrompts
from .features import ImageFeatures

__all__ = ['texts_of', 'grounding_prompts', 'visual_prompt_masks']


def texts_of(sample) -> List[str]:
    """The sample's ``text`` as a non-empty list of sentences."""
    text = sample.get('text', sample.metainfo.get('text'))
    texts = [text] if isinstance(text, str) else list(text or [])
    if not texts:
        raise ValueError('referring segmentation needs a non-empty '
                         '`text` (a sentence or a list of sentences)')
    return texts


def grounding_prompts(lang_encoder, texts: List[str]) -> Tuple[Tensor, Tensor]:
    """Sentences -> grounding tokens [T, 1, C] (valid tokens of every
    sentence, concatenated as the official multi-object inference) and
    sentence embeddings [N, C]."""
    enc = lang_encoder.encode_text(texts)
    valid = enc['attention_mask'].bool()
    tokens = enc['token_emb'][valid][:, None]
    return tokens, enc['class_emb']


def visual_prompt_masks(data_samples: Sequence,
                        feats: ImageFeatures) -> DecoderPrompts:
    """Visual prompts (rescaled to ``img_shape``, rasterised at the padded
    input size) and ``prev_mask`` of every sample."""
    pos, neg, prev = [], [], []
    for sample in data_samples:
        vp = sample.get('visual_prompts',
                        sample.metainfo.get('visual_prompts'))
        meta = sample.metainfo
        h, w = meta.get('img_shape', feats.input_shape)[:2]
        if tuple(vp.image_size) != (h, w):
            vp = vp.rescale((w / vp.image_size[1], h / vp.image_size[0]),
                            new_size=(h, w))
        p, n = vp.to_tensors(pad_to=feats.input_shape, device=feats.device)
        pos.append(p)
        neg.append(n)
        if 'prev_mask' in sample:
            prev.append(sample.prev_mask)
    prompts = DecoderPrompts(spatial_pos_masks=pos, spatial_neg_masks=neg)
    if prev:
        if len(prev) != len(pos):
            raise ValueError('prev_mask given for some samples only')
        prompts.prev_mask = prev
    return prompts
