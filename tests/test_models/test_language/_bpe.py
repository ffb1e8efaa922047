"""``requires_bpe``: skip a test when the offline CLIP BPE vocabulary file
(shipped by the open-clip-torch wheel) is missing."""
import pytest

from mmseem.models.language.tokenizer import find_clip_bpe_file


def has_bpe() -> bool:
    try:
        find_clip_bpe_file()
    except FileNotFoundError:
        return False
    return True


requires_bpe = pytest.mark.skipif(
    not has_bpe(),
    reason='CLIP BPE vocabulary missing: '
    'pip install --no-deps open-clip-torch')
