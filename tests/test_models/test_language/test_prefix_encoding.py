"""The prefix-shared vocabulary encoding equals the plain 77-token pass, and
the on-disk class-embedding cache is keyed by weights and class list."""
import os

import pytest
import torch

from mmseem.models.language.embedding_cache import (EmbeddingDiskCache,
                                                    weights_digest)
from mmseem.models.language.language_encoder import LanguageEncoder
from mmseem.models.language.prefix_encoding import (encode_eot_prefix_shared,
                                                    group_by_template,
                                                    shared_prefix_lengths)
from _bpe import has_bpe, requires_bpe  # this folder's _bpe.py


TEMPLATES = ('a photo of a {}.', '{}.', 'a drawing of the {} in a game.',
             'the {}')
NAMES = ['dog', 'traffic light', 'hair drier', 'person', 'wall-other-merged']


def _tiny(**kwargs):
    torch.manual_seed(0)
    return LanguageEncoder(
        lang_encoder=dict(type='CLIPTextTransformer', width=32, layers=2,
                          heads=2),
        dim_lang=32, dim_proj=16, prompt_templates=TEMPLATES,
        **kwargs).eval()


def _plain_ensemble(model, names):
    """SEEM's computation: every prompt padded to 77 tokens, EOT state."""
    texts = [t.format(n.replace('-other', '').replace('-merged', ''))
             for n in names for t in TEMPLATES]
    tok = model.tokenize(texts)
    assert tok['input_ids'].shape[1] == 77
    x = model.lang_encoder(tok['input_ids'])
    x = x[torch.arange(len(texts)), tok['input_ids'].argmax(-1)]
    x = x @ model.lang_proj
    x = x / (x.norm(dim=-1, keepdim=True) + 1e-7)
    x = x.view(len(names), len(TEMPLATES), -1).mean(1)
    return x / x.norm(dim=-1, keepdim=True)


def test_shared_prefix_lengths():
    ids = torch.tensor([[9, 1, 2, 3, 50, 50],
                        [9, 1, 2, 4, 5, 50],
                        [9, 7, 50, 50, 50, 50],
                        [9, 7, 50, 50, 50, 50]])
    # group 0 shares 3 tokens; group 1 holds identical texts: the prefix is
    # capped so that the EOT (position 2) stays in the suffix
    got = shared_prefix_lengths(ids, torch.tensor([0, 0, 1, 1]))
    assert got.tolist() == [3, 2]


@requires_bpe
@pytest.mark.parametrize('max_tokens', [2048, 3])
def test_prefix_shared_equals_plain_77_token_pass(max_tokens):
    model = _tiny(disk_cache=False)
    with torch.no_grad():
        want = _plain_ensemble(model, NAMES + ['background'])
        texts = [t.format(n) for n in ['dog', 'hot dog'] for t in TEMPLATES]
        ids = model.tokenize(texts)['input_ids']
        plain = model.lang_encoder(ids)[torch.arange(len(texts)),
                                        ids.argmax(-1)]
        shared = encode_eot_prefix_shared(
            model.lang_encoder, ids, group_by_template(2, len(TEMPLATES)),
            max_tokens=max_tokens)
    rel = (shared - plain).abs().max() / plain.abs().max()
    assert rel < 1e-5
    got = model.get_class_embeddings(NAMES, is_eval=True)
    rel = (got - want).abs().max() / want.abs().max()
    assert got.shape == want.shape and rel < 1e-5


def test_prefix_sharing_needs_a_causal_encoder():
    model = LanguageEncoder(
        lang_encoder=dict(type='CLIPTextTransformer', width=32, layers=1,
                          heads=2, autoregressive=False),
        dim_lang=32, dim_proj=16)
    ids = torch.tensor([[49406, 5, 49407]])
    with pytest.raises(ValueError, match='causal'):
        encode_eot_prefix_shared(model.lang_encoder, ids, torch.zeros(1))


@requires_bpe
def test_disk_cache_reused_across_processes_and_invalidated(tmp_path):
    """A second model (another process) with the same weights and classes
    reads the file instead of encoding; other weights or another class list
    miss it."""
    first = _tiny(disk_cache=str(tmp_path), disk_cache_min_prompts=1)
    emb = first.get_class_embeddings(NAMES[:2], is_eval=True)
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 1 and files[0].endswith('.pt')

    second = _tiny(disk_cache=str(tmp_path), disk_cache_min_prompts=1)
    calls = []
    second._compute_ensemble = lambda *a: calls.append(a)  # must not run
    again = second.get_class_embeddings(NAMES[:2], is_eval=True)
    assert calls == [] and torch.equal(again, emb)

    # another class list: a new file
    del second._compute_ensemble  # back to the real method
    second.get_class_embeddings(NAMES[:3], is_eval=True)
    assert len(os.listdir(tmp_path)) == 2
    # other weights: a new file, different embeddings
    with torch.no_grad():
        second.lang_encoder.ln_final.bias.add_(0.5)
    other = second.get_class_embeddings(NAMES[:2], is_eval=True)
    assert len(os.listdir(tmp_path)) == 3
    assert not torch.allclose(other, emb)


def test_disk_cache_key_and_bad_files(tmp_path):
    cache = EmbeddingDiskCache(str(tmp_path))
    a = cache.key('w', ['a', 'b'], ['{}'], True, torch.float32)
    assert a != cache.key('w', ['b', 'a'], ['{}'], True, torch.float32)
    assert a != cache.key('v', ['a', 'b'], ['{}'], True, torch.float32)
    assert a != cache.key('w', ['a', 'b'], ['{}.'], True, torch.float32)
    assert cache.load(a, 2) is None  # absent
    cache.save(a, torch.ones(2, 4))
    assert torch.equal(cache.load(a, 2), torch.ones(2, 4))
    with pytest.warns(UserWarning, match='expected a \\[3, D\\]'):
        assert cache.load(a, 3) is None
    with open(cache.path(a), 'wb') as f:
        f.write(b'not a tensor file')
    with pytest.warns(UserWarning, match='unreadable'):
        assert cache.load(a, 2) is None


def test_weights_digest_sees_values():
    m = torch.nn.Linear(3, 2)
    d = weights_digest(m)
    assert d == weights_digest(m)
    with torch.no_grad():
        m.bias[0] += 1
    assert d != weights_digest(m)


def test_small_vocabularies_stay_off_disk(tmp_path):
    model = _tiny(disk_cache=str(tmp_path))  # default threshold 2000
    if not has_bpe():
        pytest.skip('CLIP BPE vocabulary missing')
    model.get_class_embeddings(['dog'], is_eval=True)
    assert os.listdir(tmp_path) == []
