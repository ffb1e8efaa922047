"""Prompt arguments of :class:`~mmseem.apis.SEEMPredictor`, checked and
turned into :class:`~mmseem.structures.VisualPrompts`.

SEEM-specific (SEEM adds the predictor): the keyword prompts of
:meth:`SEEMPredictor.predict` (``points``, ``boxes``, ... and the
:meth:`VisualPrompts.build` options), the ready-made ``prompts`` merged with
them, and the reference prompts of :meth:`SEEMPredictor.predict_reference`.
Each wrong argument raises an error naming it and the fix.
"""
from typing import Mapping, Optional, Sequence, Union

from mmseem.structures import VisualPrompts
from .input_checks import check_prompt_args

__all__ = ['PROMPT_OPTIONS', 'collect_prompt_args', 'merge_ready_prompts',
           'check_ref_prompts']

# keyword arguments forwarded to VisualPrompts.build
PROMPT_OPTIONS = ('radius', 'click_shape', 'thickness', 'clip',
                  'resize_masks', 'allow_negative_only')


def collect_prompt_args(prompt_options: Mapping, **prompt_args) -> dict:
    """The given (not None) ``prompt_args`` (``points=...``, ...), checked
    with :func:`check_prompt_args`; unknown ``prompt_options`` (not in
    :data:`PROMPT_OPTIONS`) raise a ``TypeError``."""
    unknown = set(prompt_options) - set(PROMPT_OPTIONS)
    if unknown:
        raise TypeError(f'unknown prompt options {sorted(unknown)}; '
                        f'valid: {list(PROMPT_OPTIONS)}')
    given = {k: v for k, v in prompt_args.items() if v is not None}
    check_prompt_args(given)
    return given


def merge_ready_prompts(vp: Optional[VisualPrompts],
                        prompts: Optional[VisualPrompts],
                        image_size: Sequence[int]) -> VisualPrompts:
    """``vp`` (built from keyword prompts, or None) merged per prompt with
    the ready-made ``prompts`` of an image of ``image_size`` ``(H, W)``;
    an error when both are None (no visual prompt)."""
    if prompts is not None:
        if not isinstance(prompts, VisualPrompts):
            raise TypeError('prompts must be a VisualPrompts; got '
                            f'{type(prompts).__name__}')
        if tuple(prompts.image_size) != image_size:
            raise ValueError(
                f'prompts are for an image of size {prompts.image_size} '
                f'but the image set has size {image_size}; '
                f'use prompts.rescale(...) or build them on this image')
        vp = prompts if vp is None else vp.merge(prompts)
    if vp is None:
        raise ValueError(
            'no visual prompt given: pass points/boxes/scribbles/'
            'polygons/masks (or prompts=VisualPrompts); for text only '
            'use predictor.predict_text(text)')
    return vp


def check_ref_prompts(ref_prompts: Union[VisualPrompts, dict],
                      ref_size: Sequence[int]) -> VisualPrompts:
    """Reference prompts (a :class:`VisualPrompts` or a dict of
    :meth:`VisualPrompts.build` arguments) checked against the reference
    image's size ``(H, W)``."""
    if isinstance(ref_prompts, dict):
        check_prompt_args(ref_prompts)
        ref_prompts = VisualPrompts.build(ref_size, **ref_prompts)
    elif not isinstance(ref_prompts, VisualPrompts):
        raise TypeError('ref_prompts must be a VisualPrompts or a dict '
                        'of VisualPrompts.build arguments; got '
                        f'{type(ref_prompts).__name__}')
    if tuple(ref_prompts.image_size) != tuple(ref_size):
        raise ValueError(
            f'ref_prompts are for an image of size '
            f'{ref_prompts.image_size} but ref_image has size '
            f'{tuple(ref_size)}; give them in ref_image pixels')
    return ref_prompts
