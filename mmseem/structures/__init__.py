"""SEEM data structures (SEEM-specific, not in mmdet/mmseg)."""
from .tasks import GENERIC_TASKS, Task
from .visual_prompts import VisualPrompts, click_mask

__all__ = ['VisualPrompts', 'click_mask', 'Task', 'GENERIC_TASKS']
