"""A language encoder whose class names go through a frozen snapshot.

mmseem-specific, not in SEEM (official: one CLIP-pretrained text encoder,
fine-tuned, embeds both class names and sentences). A deviation for
training a *random-init* text encoder in a CPU budget, used by the small
synthetic recipe (``configs/_base_/models/seem_small.py``):

* trained, a random-init encoder maps the five thing names of the synthetic
  set onto one embedding (pairwise cosine 0.86 at init -> 0.999 after 2k
  iterations, also with the class loss detached), so no query can be
  classified: PQ things 0.0;
* frozen, the names stay apart, but the sentences cannot learn their
  relations ("the star left of the red circle": cIoU 4.5; 24.0 with the
  split below, 2k iterations each) and the referring cIoU stays at 40.3
  (50.1 with the split).

:class:`FrozenVocabularyLanguageEncoder` keeps both: class names (the
vocabulary of panoptic / instance / semantic segmentation and of the
labels of interactive masks) are embedded by ``vocab_encoder`` /
``vocab_proj``, a frozen copy of ``lang_encoder`` / ``lang_proj`` taken by
:meth:`~FrozenVocabularyLanguageEncoder.init_weights` (so both start equal
and the decoder's shared class projection starts aligned with both), while
sentences and grounding tokens use the trainable encoder. The copy is part
of the state dict, so a checkpoint restores it.
"""
import copy

import torch

from mmseem.registry import MODELS
from .language_encoder import LanguageEncoder

__all__ = ['FrozenVocabularyLanguageEncoder']


@MODELS.register_module()
class FrozenVocabularyLanguageEncoder(LanguageEncoder):
    """:class:`LanguageEncoder` with class names embedded by a frozen copy.

    Takes the arguments of :class:`LanguageEncoder`. The copy has no
    gradient, stays in eval mode and is refreshed from the trainable
    modules only by :meth:`init_weights` (random init) or explicitly by
    :meth:`snapshot`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.vocab_encoder = copy.deepcopy(self.lang_encoder)
        self.vocab_encoder.requires_grad_(False)
        self.register_buffer('vocab_proj', self.lang_proj.detach().clone())

    def init_weights(self) -> None:
        super().init_weights()
        self.snapshot()

    @torch.no_grad()
    def snapshot(self) -> None:
        """Copy the trainable text transformer and projection into the
        frozen vocabulary modules."""
        self.vocab_encoder.load_state_dict(self.lang_encoder.state_dict())
        self.vocab_proj.copy_(self.lang_proj)
        self.clear_cache()

    def vocabulary_modules(self):
        return self.vocab_encoder, self.vocab_proj

    def train(self, mode: bool = True):
        super().train(mode)
        self.vocab_encoder.eval()
        return self

    def get_class_embeddings(self, *args, **kwargs):
        # no graph through the frozen copy (logit_scale trains in
        # compute_similarity)
        with torch.no_grad():
            return super().get_class_embeddings(*args, **kwargs)
