from mmseem.structures.click_rule import corrective_click
from .prompt_aware_hungarian_assigner import (PromptAwareHungarianAssigner,
                                              QuerySoftmaxCost)
from .prompt_simulator import InteractivePromptSimulator

__all__ = [
    'InteractivePromptSimulator', 'corrective_click',
    'PromptAwareHungarianAssigner', 'QuerySoftmaxCost'
]
