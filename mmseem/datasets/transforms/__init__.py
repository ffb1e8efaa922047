from .loading import LoadImageFromNDArray
from .referring import (LoadReferringAnnotations, PackSEEMInputs,
                        SampleReferringTexts)

__all__ = [
    'LoadImageFromNDArray', 'LoadReferringAnnotations', 'PackSEEMInputs',
    'SampleReferringTexts'
]
