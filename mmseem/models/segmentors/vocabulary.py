"""The open vocabulary of a SEEM segmentor: checked class-name lists.

SEEM-specific: the label of class ``i`` is its index in ``thing_classes +
stuff_classes``; the language encoder embeds the names (+ background).
"""
from typing import List, Optional, Sequence, Tuple

__all__ = ['check_vocabulary', 'vocabulary_from_meta']


def check_vocabulary(thing_classes: Sequence[str],
                     stuff_classes: Sequence[str] = ()
                     ) -> Tuple[List[str], List[str]]:
    """``(things, stuff)`` as lists; raises on an empty vocabulary or a
    name that is not a non-empty string."""
    things, stuff = list(thing_classes), list(stuff_classes)
    if not things and not stuff:
        raise ValueError(
            'Empty vocabulary: give at least one class name, e.g. '
            "model.set_vocabulary(['person', 'dog'])")
    for n in things + stuff:
        if not isinstance(n, str) or not n.strip():
            raise ValueError(f'Invalid class name {n!r} in the '
                             'vocabulary: names must be non-empty str')
    return things, stuff


def vocabulary_from_meta(meta: Optional[dict], required: bool = True
                         ) -> Optional[Tuple[List[str], List[str]]]:
    """``(thing_classes, stuff_classes)`` of a ``dataset_meta``
    (``thing_classes`` + ``stuff_classes``, or ``classes``); without them
    an error, or None when not ``required``."""
    meta = meta or {}
    if meta.get('thing_classes') is not None:
        return list(meta['thing_classes']), list(
            meta.get('stuff_classes') or [])
    if meta.get('classes') is not None:
        return list(meta['classes']), []
    if not required:
        return None
    raise ValueError(
        'SEEM has no vocabulary: call model.set_vocabulary([...]), set '
        'test_cfg.vocabulary, or load a checkpoint / dataset whose '
        "dataset_meta has 'classes'")
