from .frozen_vocabulary import FrozenVocabularyLanguageEncoder
from .language_encoder import LanguageEncoder, vl_similarity
from .prompt_templates import PROMPT_TEMPLATES
from .text_encoder import CLIPTextTransformer
from .tokenizer import CLIPTextTokenizer, build_clip_tokenizer

__all__ = [
    'LanguageEncoder', 'FrozenVocabularyLanguageEncoder', 'vl_similarity',
    'PROMPT_TEMPLATES', 'CLIPTextTransformer', 'CLIPTextTokenizer',
    'build_clip_tokenizer'
]
