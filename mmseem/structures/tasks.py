"""SEEM's task vocabulary, one from the public API down to the decoder.

SEEM-specific, not in mmdet/mmseg. ``Task`` is a ``str`` enum, so configs
and callers keep writing plain strings (``test_cfg.task='panoptic'``,
``data_sample.task = 'referring'``); :meth:`Task.parse` turns them into the
enum and rejects anything unknown with the list of valid names.

==================  ==========================================================
task                what runs
==================  ==========================================================
``panoptic``        object queries against the vocabulary; panoptic fusion
                    (+ semantic / instance as ``semantic_on`` /
                    ``instance_on`` say)
``semantic``        object queries; per-pixel class probabilities
``instance``        object queries; thing instances
``referring``       grounding queries + the sentence tokens; one mask per
                    sentence
``interactive``     spatial queries + visual-prompt tokens (+ memory prompts
                    from the previous round); one mask per prompt
``interactive_eval`` ``interactive`` played by a click protocol on every GT
                    object (click benchmarks)
``refimg``          visual referring: the visual sampler's tokens of a
                    reference image prompt the spatial queries
==================  ==========================================================

The decoder reads the task for two things only: ``interactive`` and
``refimg`` add ``prev_mask`` (the best spatial query per prompt) to the
outputs, and ``refimg`` without reference tokens returns the reference
tokens. Which query groups run is decided by the prompts given, so prompts
compose (training runs generic + grounding + spatial in one ``panoptic``
pass).
"""
from enum import Enum
from typing import Sequence, Union

__all__ = ['Task', 'GENERIC_TASKS', 'task_of']


class Task(str, Enum):
    """A SEEM task (see the module docstring)."""

    PANOPTIC = 'panoptic'
    SEMANTIC = 'semantic'
    INSTANCE = 'instance'
    REFERRING = 'referring'
    INTERACTIVE = 'interactive'
    INTERACTIVE_EVAL = 'interactive_eval'
    REFIMG = 'refimg'

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, task: Union[str, 'Task'], where: str = 'task') -> 'Task':
        """``task`` as a :class:`Task`; an unknown name raises
        ``ValueError`` naming ``where`` and the valid names."""
        if isinstance(task, cls):
            return task
        if isinstance(task, str):
            try:
                return cls(task)
            except ValueError:
                pass
        raise ValueError(f'{where}={task!r} is not a SEEM task; choose one '
                         f'of {[t.value for t in cls]}')

    @property
    def is_generic(self) -> bool:
        """Panoptic / semantic / instance (object queries + vocabulary)."""
        return self in GENERIC_TASKS


GENERIC_TASKS = frozenset((Task.PANOPTIC, Task.SEMANTIC, Task.INSTANCE))


def task_of(data_samples: Sequence, default: Union[str, Task]) -> Task:
    """The batch's task: a sample's own ``task`` (data field or
    metainfo), else ``visual_prompts`` -> interactive, ``text`` ->
    referring, else ``default`` (``test_cfg.task``). One task per batch."""
    def has(s, k):
        return k in s or k in s.metainfo

    own = [s.get('task', s.metainfo.get('task')) for s in data_samples]
    if any(t is not None for t in own):
        tasks = {
            Task.parse(t if t is not None else default,
                       'data_sample.task')
            for t in own
        }
        if len(tasks) > 1:
            raise ValueError(
                f'samples of one batch ask for different tasks '
                f'{sorted(t.value for t in tasks)}: run them in '
                'separate batches')
        return tasks.pop()
    if all(has(s, 'visual_prompts') for s in data_samples):
        return Task.INTERACTIVE
    if any(has(s, 'visual_prompts') for s in data_samples):
        raise ValueError('mix of samples with and without '
                         'visual_prompts in one batch: run them in '
                         'separate batches')
    if all(has(s, 'text') for s in data_samples):
        return Task.REFERRING
    return default
