# Copyright (c) mmseem contributors.
import importlib.util

import pytest
import torch

from mmseem.models.language.tokenizer import (CLIP_VOCAB_SIZE, EOT_TOKEN,
                                              SOT_TOKEN, CLIPTextTokenizer,
                                              build_clip_tokenizer,
                                              find_clip_bpe_file,
                                              load_clip_bpe)
from _bpe import requires_bpe  # this folder's _bpe.py


@pytest.fixture(scope='module')
def tokenizer():
    return CLIPTextTokenizer()


@requires_bpe
def test_vocabulary_layout():
    vocab, merges = load_clip_bpe()
    assert len(vocab) == CLIP_VOCAB_SIZE == 49408
    assert len(merges) == 49152 - 256 - 2
    # 256 byte symbols, the same with '</w>', merges, then the specials.
    assert vocab['!'] == 0 and vocab['!</w>'] == 256
    assert vocab[''.join(merges[0])] == 512
    assert vocab[SOT_TOKEN] == 49406 and vocab[EOT_TOKEN] == 49407


@requires_bpe
def test_known_clip_ids(tokenizer):
    assert tokenizer.encode('a photo of a cat') == [
        49406, 320, 1125, 539, 320, 2368, 49407
    ]
    # lower-casing and whitespace cleaning as CLIP does
    assert tokenizer.encode('A  Photo of a CAT') == tokenizer.encode(
        'a photo of a cat')
    assert tokenizer.vocab_size == 49408
    assert tokenizer.sot_token_id == 49406
    assert tokenizer.eot_token_id == tokenizer.pad_token_id == 49407


@requires_bpe
def test_hf_tokenizer_matches_seem_settings():
    hf = build_clip_tokenizer()
    assert hf.pad_token == hf.eos_token == hf.cls_token == EOT_TOKEN
    assert hf.bos_token == SOT_TOKEN
    assert hf.model_max_length == 77
    assert hf.vocab_size == 49408


@requires_bpe
def test_padding_and_eot_position(tokenizer):
    out = tokenizer(['a photo of a cat', 'dog'])
    ids, mask = out['input_ids'], out['attention_mask']
    assert ids.shape == mask.shape == (2, 77)
    assert ids.dtype == torch.long
    assert mask.sum(-1).tolist() == [7, 3]
    assert (ids[0, 7:] == 49407).all() and (mask[0, 7:] == 0).all()
    # the end token is the first maximum: what the encoder pools
    assert ids.argmax(-1).tolist() == [6, 2]


@requires_bpe
def test_over_long_text_is_truncated_with_warning(tokenizer):
    with pytest.warns(UserWarning, match='truncated'):
        out = tokenizer(['cat ' * 100, 'dog'])
    ids = out['input_ids']
    assert ids.shape == (2, 77)
    assert out['attention_mask'][0].all()
    assert ids[0, 0] == 49406 and ids[0, -1] == 49407
    assert ids[0].argmax() == 76


@requires_bpe
def test_exact_fit_does_not_warn(tokenizer, recwarn):
    out = tokenizer('cat ' * 75)  # 75 words + start + end = 77 tokens
    assert out['attention_mask'].sum() == 77
    assert not [w for w in recwarn if 'truncated' in str(w.message)]


@requires_bpe
@pytest.mark.parametrize('bad', [[], '', '   ', [1], ['ok', None], 3])
def test_bad_text_input(tokenizer, bad):
    with pytest.raises(ValueError):
        tokenizer(bad)


def test_missing_vocabulary_names_the_fix(monkeypatch, tmp_path):
    with pytest.raises(FileNotFoundError, match='open-clip-torch'):
        load_clip_bpe(str(tmp_path / 'nope.txt.gz'))
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)
    with pytest.raises(FileNotFoundError, match='open-clip-torch'):
        find_clip_bpe_file()


@requires_bpe
def test_vocab_files_for_file_based_tokenizers(tmp_path):
    """vocab.json / merges.txt as transformers<5 ``CLIPTokenizer`` reads."""
    import json

    from mmseem.models.language.tokenizer import _write_vocab_files
    vocab_file, merges_file = _write_vocab_files(None, str(tmp_path))
    with open(vocab_file, encoding='utf-8') as f:
        vocab = json.load(f)
    with open(merges_file, encoding='utf-8') as f:
        lines = f.read().strip().split('\n')
    assert vocab == load_clip_bpe()[0]
    assert lines[0].startswith('#version')
    # the slice the HF slow tokenizer takes
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    assert merges == load_clip_bpe()[1]
    # written once, reused afterwards
    assert _write_vocab_files(None, str(tmp_path)) == (vocab_file,
                                                       merges_file)
