from .prompt_aware_hungarian_assigner import (PromptAwareHungarianAssigner,
                                              QuerySoftmaxCost)
from .prompt_simulator import InteractivePromptSimulator, corrective_click

__all__ = [
    'InteractivePromptSimulator', 'corrective_click',
    'PromptAwareHungarianAssigner', 'QuerySoftmaxCost'
]
