"""Checks of user arguments shared by the mmseem APIs.

Each turns a wrong argument into an error that names the argument, what was
given and what is expected, before it reaches the model (where it would
fail deep inside, or worse, not fail).
"""
from typing import List, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ['check_text', 'check_prompt_args', 'PROMPT_EXAMPLES']

PROMPT_EXAMPLES = dict(
    points='points=[[[x, y]]] (one list of clicks per object)',
    point_labels='point_labels=[[1]] (1 positive, 0 negative)',
    boxes='boxes=[[x1, y1, x2, y2]] (one box per object)',
    scribbles='scribbles=[[[x1, y1], [x2, y2], ...]] (one per object)',
    polygons='polygons=[[[x1, y1], [x2, y2], [x3, y3]]] (one per object)',
    masks='masks=array [P, H, W] (one binary mask per object)')


def check_text(text, what: str = 'text') -> Union[None, str, List[str]]:
    """``None``, a sentence or a non-empty list of sentences; anything else
    is an error naming ``what``."""
    if text is None or isinstance(text, str) and text.strip():
        return text
    if isinstance(text, str):
        raise ValueError(f'{what} is empty or blank ({text!r}); give a '
                         "sentence, e.g. 'the dog on the left'")
    if not isinstance(text, (list, tuple)):
        raise TypeError(
            f'{what} must be a sentence (str) or a list of sentences; got '
            f'{type(text).__name__} {text!r:.80}')
    if not text:
        raise ValueError(f'{what} is an empty list; give at least one '
                         "sentence, e.g. ['the dog']")
    for i, t in enumerate(text):
        if not isinstance(t, str):
            raise TypeError(f'{what}[{i}] is {type(t).__name__} {t!r:.80}, '
                            'not a sentence (str)')
        if not t.strip():
            raise ValueError(f'{what}[{i}] is empty or blank ({t!r}); give '
                             'a sentence')
    return list(text)


def _length(value) -> Optional[int]:
    shape = getattr(value, 'shape', None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    if isinstance(value, Sequence) and not isinstance(value, str):
        return len(value)
    return None


def check_prompt_args(given: Mapping) -> None:
    """Visual prompt arguments (``points``, ``boxes``, ...): an empty one
    (e.g. ``points=[]``) or a string is an error naming it."""
    for key, value in given.items():
        example = PROMPT_EXAMPLES.get(key, '')
        if isinstance(value, (str, bytes)):
            raise TypeError(f'{key} must be numbers, e.g. {example}; got the '
                            f'string {value!r:.80}')
        if isinstance(value, np.ndarray) and value.dtype == object:
            continue  # ragged lists: VisualPrompts.build checks them
        if _length(value) == 0:
            raise ValueError(
                f'{key} is empty ({key}={value!r:.40}): give one entry per '
                f'object, e.g. {example}, or leave {key} out (None)')
