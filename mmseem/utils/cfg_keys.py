"""Unknown keys in a model's ``test_cfg`` / ``train_cfg`` are an error.

SEEM-specific, not in mmdet/mmseg (whose heads read ``test_cfg`` with
``.get`` and silently ignore a misspelt key): :class:`SEEM` calls
:func:`check_cfg_keys` on both dicts when it is built, so
``test_cfg=dict(max_per_imgae=10)`` fails at once, naming the valid keys
(and the closest one), instead of running with the default.

The valid keys are every key the code reads; ``tests/test_apis/
test_bad_input_cfg_keys.py`` checks that every ``test_cfg[...]`` /
``test_cfg.get(...)`` in ``mmseem/models`` is listed here.
"""
import difflib
from typing import Iterable, Mapping, Optional

__all__ = [
    'SEEM_TEST_CFG_KEYS', 'SEEM_TRAIN_CFG_KEYS', 'UnknownKeyError',
    'check_cfg_keys'
]


class UnknownKeyError(KeyError, ValueError):
    """A dict has a key the code does not read (a ``KeyError`` and a
    ``ValueError``; printed as its message, without ``KeyError``'s
    quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''

# read by SEEM (segmentors/seem.py) and its interactive evaluation
# (segmentors/image_session.py)
SEEM_TEST_CFG_KEYS = (
    'task',  # default task: panoptic | semantic | instance | referring | ...
    'semantic_on', 'instance_on', 'panoptic_on',  # outputs of 'panoptic'
    'object_mask_threshold', 'overlap_threshold',  # panoptic merging
    'max_per_image',  # instances kept
    'mask_threshold',  # logits > threshold -> mask
    'seed',  # point / query sampling RNG
    'vocabulary',  # dict(thing_classes=..., stuff_classes=...)
    'ignore_regions',  # interactive evaluation: 'ignored_instances'
    'interactive_protocol', 'max_clicks',  # interactive evaluation
    'stop_iou',  # standard protocol: stop an object at this IoU (None: never)
)
# SEEM pops ``criterion`` (the SEEMLoss config); nothing else is read
SEEM_TRAIN_CFG_KEYS = ('criterion', )


def check_cfg_keys(cfg: Optional[Mapping],
                   valid: Iterable[str],
                   name: str = 'cfg') -> None:
    """Raise :class:`UnknownKeyError` if ``cfg`` has a key outside ``valid``.

    Args:
        cfg (Mapping, optional): the dict to check (``None`` passes).
        valid (Iterable[str]): the keys the code reads.
        name (str): the dict's name in the config, e.g. ``'model.test_cfg'``.
    """
    if cfg is None:
        return
    if not isinstance(cfg, Mapping):
        raise TypeError(f'{name} must be a dict (or None); got '
                        f'{type(cfg).__name__} {cfg!r:.80}')
    valid = list(valid)
    unknown = [k for k in cfg if k not in valid]
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), valid, n=1)
        hints.append(f'{key!r}' + (f' (did you mean {close[0]!r}?)'
                                   if close else ''))
    raise UnknownKeyError(f'{name} has unknown key(s) {", ".join(hints)}; '
                          f'valid keys: {valid}')
