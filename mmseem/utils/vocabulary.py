"""One rule for reading an open vocabulary (class names) from users.

SEEM-specific, not in mmdet/mmseg: SEEM labels masks with an open
vocabulary, ``thing_classes`` then ``stuff_classes`` (the label of class
``i`` is its index in ``thing_classes + stuff_classes``). Every place that
takes class names -- :meth:`SEEM.set_vocabulary`, ``test_cfg.vocabulary``,
``model.dataset_meta``, the inferencer's ``vocabulary=`` and
``SEEMLoss(class_names=...)`` -- reads them with :func:`parse_vocabulary`.

Rules (decisions, documented here once):

* a ``str`` is **one** class (``'cat'`` is ``['cat']``, never
  ``['c', 'a', 't']``);
* a list / tuple / numpy array of ``str`` keeps its order; a ``set`` is
  refused (its order, which defines the labels, is arbitrary);
* a dict reads ``thing_classes`` + ``stuff_classes``, or ``classes`` when
  neither is given (mmseg's and mmdet's ``dataset_meta``); other keys
  (``palette``, ...) are ignored, except misspelt class keys (a key with
  ``'clas'`` in it or close to a valid one), an error naming the valid keys;
* ``None``, a non-``str`` name, a blank name, an empty vocabulary and a name
  given twice (things and stuff together, compared after stripping
  surrounding spaces) are errors that name the problem.
"""
import difflib
from dataclasses import dataclass
from typing import Any, List, Mapping, Sequence, Tuple, Union

import numpy as np

from .cfg_keys import UnknownKeyError

__all__ = ['Vocabulary', 'parse_vocabulary', 'VOCABULARY_KEYS']

VOCABULARY_KEYS = ('thing_classes', 'stuff_classes', 'classes')
_EXAMPLE = "e.g. ['person', 'dog'] or dict(thing_classes=[...], " \
    'stuff_classes=[...])'


@dataclass(frozen=True)
class Vocabulary:
    """Parsed class names: ``thing_classes`` then ``stuff_classes``."""
    thing_classes: Tuple[str, ...]
    stuff_classes: Tuple[str, ...] = ()

    @property
    def names(self) -> List[str]:
        """All names; the label of a class is its index here."""
        return list(self.thing_classes) + list(self.stuff_classes)

    def as_lists(self) -> Tuple[List[str], List[str]]:
        return list(self.thing_classes), list(self.stuff_classes)


def _names(value: Any, what: str) -> List[str]:
    """One argument (str or sequence of str) -> list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]  # one class, never its letters
    if isinstance(value, (bytes, bytearray)):
        raise TypeError(f'{what} is bytes ({value!r}); decode it to str '
                        f'first, {_EXAMPLE}')
    if isinstance(value, (set, frozenset)):
        raise TypeError(f'{what} is a set, whose order is arbitrary but '
                        f'defines the labels; pass a list, {_EXAMPLE}')
    if isinstance(value, Mapping):
        raise TypeError(f'{what} is a dict inside a vocabulary; give the '
                        f'dict itself as the vocabulary, {_EXAMPLE}')
    if isinstance(value, np.ndarray):
        value = value.tolist() if value.ndim else [value.item()]
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f'{what} must be a class name (str) or a list of '
                        f'class names, {_EXAMPLE}; got '
                        f'{type(value).__name__} {value!r:.80}') from None
    for i, name in enumerate(items):
        if not isinstance(name, str):
            raise TypeError(
                f'{what}[{i}] is {type(name).__name__} {name!r:.80}, not a '
                f'str: class names must be strings, {_EXAMPLE}')
        if not name.strip():
            raise ValueError(f'{what}[{i}] is an empty or blank class name '
                             f'({name!r}): class names must be non-empty '
                             f'str; remove it or give a word')
    return items


def _from_dict(vocab: Mapping, what: str) -> Tuple[Any, Any]:
    typos = [
        k for k in vocab if isinstance(k, str) and k not in VOCABULARY_KEYS
        and ('clas' in k.lower()
             or difflib.get_close_matches(k, VOCABULARY_KEYS, 1, 0.75))
    ]
    if typos:
        raise UnknownKeyError(f'{what} has unknown key(s) {typos}; valid '
                              f'keys: {list(VOCABULARY_KEYS)}')
    things, stuff = vocab.get('thing_classes'), vocab.get('stuff_classes')
    if things is None and stuff is None:
        if vocab.get('classes') is None:
            raise UnknownKeyError(f'{what} has none of the keys '
                                  f'{list(VOCABULARY_KEYS)}; {_EXAMPLE}')
        things = vocab['classes']
    return things, stuff


def parse_vocabulary(thing_classes: Union[str, Sequence[str], Mapping,
                                          Vocabulary, None],
                     stuff_classes: Union[str, Sequence[str], None] = None,
                     what: str = 'vocabulary') -> Vocabulary:
    """Read class names given as ``str`` / list / dict (module docstring).

    Args:
        thing_classes: names of the thing classes (a ``str`` is one class),
            or a dict with ``thing_classes`` / ``stuff_classes`` /
            ``classes``, or a :class:`Vocabulary`.
        stuff_classes: names of the stuff classes (not with a dict).
        what (str): how the caller calls the argument, for messages.

    Returns:
        Vocabulary: the names, validated.
    """
    no_stuff = stuff_classes is None or (isinstance(
        stuff_classes, (list, tuple)) and not stuff_classes)
    if isinstance(thing_classes, (Mapping, Vocabulary)):
        if not no_stuff:
            raise TypeError(f'{what}: give stuff_classes inside the dict, '
                            'not as a second argument')
        if isinstance(thing_classes, Vocabulary):
            return thing_classes
        thing_classes, stuff_classes = _from_dict(thing_classes, what)
    elif thing_classes is None and no_stuff:
        raise TypeError(f'{what} is None; give class names, {_EXAMPLE}')
    things = _names(thing_classes, f'{what} thing_classes')
    stuff = _names(stuff_classes, f'{what} stuff_classes')
    if not things and not stuff:
        raise ValueError(f'Empty vocabulary: {what} has no class name; give '
                         f'at least one, {_EXAMPLE}')
    seen = {}
    for name in things + stuff:
        key = name.strip()
        if key in seen:
            raise ValueError(
                f'{what} names the class {name!r} twice ({seen[key]!r} and '
                f'{name!r}); each class may appear once (its index is its '
                f'label)')
        seen[key] = name
    return Vocabulary(tuple(things), tuple(stuff))
