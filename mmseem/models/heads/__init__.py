from .seem_decoder import SEEMDecoder
from .seem_head import SEEMHead

__all__ = ['SEEMDecoder', 'SEEMHead']
