"""SEEM data structures (SEEM-specific, not in mmdet/mmseg)."""
from .visual_prompts import VisualPrompts, click_mask

__all__ = ['VisualPrompts', 'click_mask']
