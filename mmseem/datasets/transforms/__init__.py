from .referring import (LoadReferringAnnotations, PackSEEMInputs,
                        SampleReferringTexts)

__all__ = [
    'LoadReferringAnnotations', 'PackSEEMInputs', 'SampleReferringTexts'
]
