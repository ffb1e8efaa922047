# Copyright (c) mmseem contributors.
"""FrozenVocabularyLanguageEncoder: class names through a frozen snapshot,
sentences through the trainable encoder (the synthetic recipe's text
side)."""
import torch

from mmseem.models.language import (FrozenVocabularyLanguageEncoder,
                                    LanguageEncoder)
from _bpe import requires_bpe  # this folder's _bpe.py

NAMES = ['circle', 'square', 'star']


def _tiny(seed=0):
    torch.manual_seed(seed)
    enc = FrozenVocabularyLanguageEncoder(
        lang_encoder=dict(type='CLIPTextTransformer', context_length=77,
                          vocab_size=49408, width=16, layers=1, heads=2),
        dim_lang=16, dim_proj=8, prompt_templates=('{}', ),
        disk_cache=False)
    enc.init_weights()
    return enc


def test_snapshot_equals_trainable_at_init_and_has_no_grad():
    enc = _tiny()
    own, copy = enc.lang_encoder.state_dict(), enc.vocab_encoder.state_dict()
    assert own.keys() == copy.keys()
    assert all(torch.equal(own[k], copy[k]) for k in own)
    assert torch.equal(enc.lang_proj, enc.vocab_proj)
    assert not any(p.requires_grad for p in enc.vocab_encoder.parameters())
    assert all(p.requires_grad for p in enc.lang_encoder.parameters())
    enc.train()
    assert enc.lang_encoder.training and not enc.vocab_encoder.training


@requires_bpe
def test_training_the_encoder_moves_sentences_not_class_names():
    enc = _tiny().train()
    before = enc.get_class_embeddings(NAMES, is_eval=False).clone()
    sent_before = enc.encode_text(['the big red circle'])['class_emb']
    assert not before.requires_grad  # no graph through the frozen copy
    opt = torch.optim.SGD(
        [p for p in enc.parameters() if p.requires_grad], lr=1.0)
    for _ in range(3):
        opt.zero_grad()
        out = enc.encode_text(['the big red circle', 'the small star'])
        out['class_emb'].pow(2).sum().backward()
        opt.step()
    sent_after = enc.encode_text(['the big red circle'])['class_emb']
    assert not torch.allclose(sent_before, sent_after)
    after = enc.get_class_embeddings(NAMES, is_eval=False)
    assert torch.equal(before, after)
    # the eval ensemble also reads the snapshot
    enc.eval()
    assert torch.allclose(enc.get_class_embeddings(NAMES), after, atol=1e-6)
    # a plain LanguageEncoder with the trained weights gives other names
    plain = LanguageEncoder(
        lang_encoder=dict(type='CLIPTextTransformer', context_length=77,
                          vocab_size=49408, width=16, layers=1, heads=2),
        dim_lang=16, dim_proj=8, prompt_templates=('{}', ),
        disk_cache=False).eval()
    plain.load_state_dict(
        {k: v for k, v in enc.state_dict().items()
         if not k.startswith('vocab_')})
    assert not torch.allclose(plain.get_class_embeddings(NAMES), after,
                              atol=1e-4)


@requires_bpe
def test_checkpoint_restores_the_snapshot():
    trained = _tiny(seed=0)
    with torch.no_grad():  # drift the trainable encoder only
        trained.lang_proj.add_(1.0)
    fresh = _tiny(seed=1).eval()
    fresh.load_state_dict(trained.state_dict())
    trained.eval()
    assert torch.equal(fresh.vocab_proj, trained.vocab_proj)
    assert not torch.equal(fresh.vocab_proj, fresh.lang_proj)
    assert torch.allclose(fresh.get_class_embeddings(NAMES),
                          trained.get_class_embeddings(NAMES))
