from .prompt_simulator import InteractivePromptSimulator, corrective_click

__all__ = ['InteractivePromptSimulator', 'corrective_click']
