from .decoder_prompts import DecoderPrompts
from .features import ImageFeatures, PreparedFeatures
from .seem_decoder import SEEMDecoder
from .seem_head import SEEMHead

__all__ = [
    'SEEMDecoder', 'SEEMHead', 'DecoderPrompts', 'ImageFeatures',
    'PreparedFeatures'
]
