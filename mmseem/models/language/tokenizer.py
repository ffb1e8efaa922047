"""CLIP BPE tokenizer for SEEM's language encoder, built offline.

SEEM tokenises text with HuggingFace's ``CLIPTokenizer`` of
``openai/clip-vit-base-patch32`` (context length 77, ``<|endoftext|>`` as
padding and as ``cls_token``, right padding to ``max_length`` and
truncation). Here the same tokenizer is built without the hub: its
vocabulary (49408 tokens = 256 bytes + 256 bytes with ``</w>`` + 48894 BPE
merges + ``<|startoftext|>``, ``<|endoftext|>``) is derived from the BPE
merge list ``bpe_simple_vocab_16e6.txt.gz`` shipped inside the
``open-clip-torch`` wheel, which is located but never imported.
"""
import functools
import gzip
import hashlib
import importlib.util
import inspect
import json
import os
import os.path as osp
import tempfile
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from transformers import CLIPTokenizer

from mmseem.registry import TASK_UTILS

CLIP_CONTEXT_LENGTH = 77
CLIP_VOCAB_SIZE = 49408
SOT_TOKEN = '<|startoftext|>'
EOT_TOKEN = '<|endoftext|>'
BPE_FILE_NAME = 'bpe_simple_vocab_16e6.txt.gz'
# CLIP keeps the first 49152 - 256 - 2 merges of the BPE file.
_NUM_MERGES = 49152 - 256 - 2

_INSTALL_HINT = ('Install the wheel that ships it with '
                 '`pip install --no-deps open-clip-torch` (mmseem only '
                 'reads its vocabulary file, it never imports open_clip), '
                 'or pass `bpe_path=` to a local copy of '
                 f'{BPE_FILE_NAME}.')


def find_clip_bpe_file() -> str:
    """Path of ``bpe_simple_vocab_16e6.txt.gz`` inside the installed
    ``open_clip`` package, found without importing it (importing open_clip
    needs torchvision)."""
    spec = importlib.util.find_spec('open_clip')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            'The CLIP BPE vocabulary is needed to tokenise text, but the '
            f'`open_clip` package is not installed. {_INSTALL_HINT}')
    for folder in spec.submodule_search_locations:
        path = osp.join(folder, BPE_FILE_NAME)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'{BPE_FILE_NAME} was not found in the installed open_clip package '
        f'({list(spec.submodule_search_locations)}). {_INSTALL_HINT}')


def _byte_to_unicode() -> Dict[int, str]:
    """GPT-2/CLIP byte-level alphabet: each of the 256 bytes mapped to a
    printable unicode character, printable bytes first (as in CLIP)."""
    printable = (
        list(range(ord('!'), ord('~') + 1)) +
        list(range(ord('\xa1'), ord('\xac') + 1)) +
        list(range(ord('\xae'), ord('\xff') + 1)))
    others = [b for b in range(256) if b not in printable]
    mapping = {b: chr(b) for b in printable}
    mapping.update({b: chr(256 + i) for i, b in enumerate(others)})
    return mapping


@functools.lru_cache(maxsize=4)
def load_clip_bpe(bpe_path: Optional[str] = None
                  ) -> Tuple[Dict[str, int], List[Tuple[str, str]]]:
    """CLIP's vocabulary (token -> id, 49408 entries) and BPE merges
    (48894 pairs, ranked) from the gzipped merge file."""
    if bpe_path is None:
        bpe_path = find_clip_bpe_file()
    elif not osp.isfile(bpe_path):
        raise FileNotFoundError(
            f'CLIP BPE file {bpe_path!r} does not exist. {_INSTALL_HINT}')
    with gzip.open(bpe_path, 'rt', encoding='utf-8') as f:
        lines = f.read().split('\n')
    # Line 0 is a version header; the merges follow.
    merges = [tuple(line.split()) for line in lines[1:1 + _NUM_MERGES]]
    if len(merges) != _NUM_MERGES or any(len(m) != 2 for m in merges):
        raise ValueError(f'{bpe_path!r} is not a CLIP BPE merge file '
                         f'(expected {_NUM_MERGES} merge pairs).')
    alphabet = list(_byte_to_unicode().values())
    tokens = alphabet + [t + '</w>' for t in alphabet]
    tokens += [a + b for a, b in merges]
    tokens += [SOT_TOKEN, EOT_TOKEN]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    assert len(vocab) == CLIP_VOCAB_SIZE, len(vocab)
    return vocab, merges


def _default_cache_dir() -> str:
    root = os.environ.get('MMSEEM_CACHE_DIR',
                          osp.join(osp.expanduser('~'), '.cache', 'mmseem'))
    try:
        os.makedirs(root, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except OSError:
        pass
    return tempfile.gettempdir()


def _write_vocab_files(bpe_path: Optional[str],
                       cache_dir: Optional[str]) -> Tuple[str, str]:
    """vocab.json / merges.txt for file-based (transformers<5) tokenizers,
    written once per BPE file into a cache folder."""
    vocab, merges = load_clip_bpe(bpe_path)
    digest = hashlib.md5(json.dumps(merges).encode()).hexdigest()[:10]
    folder = osp.join(cache_dir or _default_cache_dir(), f'clip_bpe_{digest}')
    os.makedirs(folder, exist_ok=True)
    vocab_file = osp.join(folder, 'vocab.json')
    merges_file = osp.join(folder, 'merges.txt')
    contents = {
        vocab_file: json.dumps(vocab, ensure_ascii=False),
        merges_file: '#version: 0.2\n' +
        '\n'.join(f'{a} {b}' for a, b in merges) + '\n',
    }
    for path, text in contents.items():
        if osp.isfile(path):
            continue
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, path)  # atomic: safe with concurrent builders
    return vocab_file, merges_file


def build_clip_tokenizer(bpe_path: Optional[str] = None,
                         context_length: int = CLIP_CONTEXT_LENGTH,
                         cache_dir: Optional[str] = None):
    """HuggingFace ``CLIPTokenizer`` equal to SEEM's
    ``CLIPTokenizer.from_pretrained('openai/clip-vit-base-patch32')`` with
    ``cls_token = eos_token``, built offline (no hub access).

    With transformers>=5 the tokenizer is built in memory; older versions
    read ``vocab.json``/``merges.txt`` written to ``cache_dir`` (default
    ``$MMSEEM_CACHE_DIR`` or ``~/.cache/mmseem``).
    """
    special = dict(
        unk_token=EOT_TOKEN,
        bos_token=SOT_TOKEN,
        eos_token=EOT_TOKEN,
        pad_token=EOT_TOKEN,
        model_max_length=context_length)
    if 'vocab' in inspect.signature(CLIPTokenizer.__init__).parameters:
        vocab, merges = load_clip_bpe(bpe_path)
        tokenizer = CLIPTokenizer(vocab=dict(vocab), merges=list(merges),
                                  **special)
    else:  # transformers<5: file-based slow tokenizer
        vocab_file, merges_file = _write_vocab_files(bpe_path, cache_dir)
        tokenizer = CLIPTokenizer(vocab_file, merges_file, **special)
    tokenizer.add_special_tokens({'cls_token': tokenizer.eos_token})
    return tokenizer


def _fix_text(text: str) -> str:
    """ftfy's text repair (mojibake, HTML entities), which the official slow
    ``CLIPTokenizer`` applies before BPE when ftfy is installed."""
    try:
        import ftfy
    except ImportError:
        return text
    return ftfy.fix_text(text)


def check_texts(texts: Union[str, Sequence[str]], what: str = 'text'
                ) -> List[str]:
    """Validate a string or a non-empty list of non-empty strings."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)):
        raise ValueError(f'Expected a {what} string or a list of strings, '
                         f'got {type(texts).__name__}.')
    if len(texts) == 0:
        raise ValueError(f'Got an empty list of {what}s: pass at least one '
                         'non-empty string.')
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f'{what} #{i} is a {type(text).__name__} '
                             f'({text!r}), not a str: pass strings only.')
        if not text.strip():
            raise ValueError(f'{what} #{i} is empty or blank: every {what} '
                             'needs at least one word.')
    return list(texts)


@TASK_UTILS.register_module()
class CLIPTextTokenizer:
    """SEEM's text tokenizer: CLIP BPE, padded to ``context_length``.

    SEEM-specific, not in mmdet/mmseg. ``__call__`` returns ``input_ids``
    and ``attention_mask`` of shape [N, context_length]: ``<|startoftext|>``
    first, ``<|endoftext|>`` (EOT, the largest id, whose position the text
    encoder pools) after the last word, then ``<|endoftext|>`` padding with
    attention mask 0. Texts longer than ``context_length`` tokens are
    truncated as in SEEM (EOT kept last) and a warning names them.

    Args:
        context_length (int): Token sequence length L. Defaults to 77.
        bpe_path (str, optional): CLIP BPE merge file; defaults to the one
            in the installed ``open-clip-torch`` wheel.
    """

    def __init__(self,
                 context_length: int = CLIP_CONTEXT_LENGTH,
                 bpe_path: Optional[str] = None):
        if context_length < 2:
            raise ValueError('context_length must be >= 2 to hold the start '
                             f'and end tokens, got {context_length}.')
        self.context_length = context_length
        self.hf_tokenizer = build_clip_tokenizer(bpe_path, context_length)

    @property
    def vocab_size(self) -> int:
        return self.hf_tokenizer.vocab_size

    @property
    def sot_token_id(self) -> int:
        return self.hf_tokenizer.bos_token_id

    @property
    def eot_token_id(self) -> int:
        return self.hf_tokenizer.eos_token_id

    @property
    def pad_token_id(self) -> int:
        return self.hf_tokenizer.pad_token_id

    def encode(self, text: str) -> List[int]:
        """Token ids of one text, with start/end tokens, no padding."""
        if not isinstance(text, str):
            raise ValueError(f'encode() takes one str, got '
                             f'{type(text).__name__}; call the tokenizer '
                             'itself for a list of texts.')
        (text, ) = check_texts(text)
        return self.hf_tokenizer(_fix_text(text))['input_ids']

    def __call__(self, texts: Union[str, Sequence[str]]
                 ) -> Dict[str, torch.Tensor]:
        """Tokenise texts to ``input_ids`` / ``attention_mask`` [N, L]."""
        texts = [_fix_text(t) for t in check_texts(texts)]
        out = self.hf_tokenizer(
            texts,
            padding='max_length',
            truncation=True,
            max_length=self.context_length,
            return_tensors='pt')
        input_ids = out['input_ids'].long()
        attention_mask = out['attention_mask'].long()
        full = (attention_mask.sum(-1) == self.context_length).nonzero()
        if len(full):
            self._warn_truncated([texts[i] for i in full.flatten().tolist()])
        return dict(input_ids=input_ids, attention_mask=attention_mask)

    def _warn_truncated(self, texts: List[str]) -> None:
        # A full row is either an exact fit or a truncated text.
        lengths = [
            len(ids)
            for ids in self.hf_tokenizer(texts, verbose=False)['input_ids']
        ]
        cut = [(t, n) for t, n in zip(texts, lengths)
               if n > self.context_length]
        if cut:
            examples = '; '.join(f'{t[:40]!r}... ({n} tokens)'
                                 for t, n in cut[:3])
            warnings.warn(
                f'{len(cut)} text(s) exceed the CLIP context length of '
                f'{self.context_length} tokens and were truncated (as SEEM '
                f'does; the end token is kept): {examples}. Shorten them to '
                'keep every word.',
                UserWarning,
                stacklevel=3)
