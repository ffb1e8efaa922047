"""Prompt templates for SEEM's open-vocabulary class embeddings.

SEEM-specific data, not in mmdet/mmseg: the 81 CLIP-style ImageNet prompt
templates that SEEM (via X-Decoder) uses to turn a class name into
sentences before encoding them with the language encoder. At inference the
class embedding is the mean over all templates; during training one
template is drawn at random per class and per iteration.
"""
from typing import Optional, Sequence

import torch

# The official list (SEEM v1.0 ``utils/prompt_engineering.py``), in order.
PROMPT_TEMPLATES = (
    '{}.',
    'a photo of a {}.',
    'a bad photo of a {}.',
    'a photo of many {}.',
    'a sculpture of a {}.',
    'a photo of the hard to see {}.',
    'a low resolution photo of the {}.',
    'a rendering of a {}.',
    'graffiti of a {}.',
    'a bad photo of the {}.',
    'a cropped photo of the {}.',
    'a tattoo of a {}.',
    'the embroidered {}.',
    'a photo of a hard to see {}.',
    'a bright photo of a {}.',
    'a photo of a clean {}.',
    'a photo of a dirty {}.',
    'a dark photo of the {}.',
    'a drawing of a {}.',
    'a photo of my {}.',
    'the plastic {}.',
    'a photo of the cool {}.',
    'a close-up photo of a {}.',
    'a black and white photo of the {}.',
    'a painting of the {}.',
    'a painting of a {}.',
    'a pixelated photo of the {}.',
    'a sculpture of the {}.',
    'a bright photo of the {}.',
    'a cropped photo of a {}.',
    'a plastic {}.',
    'a photo of the dirty {}.',
    'a jpeg corrupted photo of a {}.',
    'a blurry photo of the {}.',
    'a photo of the {}.',
    'a good photo of the {}.',
    'a rendering of the {}.',
    'a {} in a video game.',
    'a photo of one {}.',
    'a doodle of a {}.',
    'a close-up photo of the {}.',
    'the origami {}.',
    'the {} in a video game.',
    'a sketch of a {}.',
    'a doodle of the {}.',
    'a origami {}.',
    'a low resolution photo of a {}.',
    'the toy {}.',
    'a rendition of the {}.',
    'a photo of the clean {}.',
    'a photo of a large {}.',
    'a rendition of a {}.',
    'a photo of a nice {}.',
    'a photo of a weird {}.',
    'a blurry photo of a {}.',
    'a cartoon {}.',
    'art of a {}.',
    'a sketch of the {}.',
    'a embroidered {}.',
    'a pixelated photo of a {}.',
    'itap of the {}.',
    'a jpeg corrupted photo of the {}.',
    'a good photo of a {}.',
    'a plushie {}.',
    'a photo of the nice {}.',
    'a photo of the small {}.',
    'a photo of the weird {}.',
    'the cartoon {}.',
    'art of the {}.',
    'a drawing of the {}.',
    'a photo of the large {}.',
    'a black and white photo of a {}.',
    'the plushie {}.',
    'a dark photo of a {}.',
    'itap of a {}.',
    'graffiti of the {}.',
    'a toy {}.',
    'itap of my {}.',
    'a photo of a cool {}.',
    'a photo of a small {}.',
    'a tattoo of the {}.',
)

# COCO-panoptic name suffixes that are dropped before prompting.
_NAME_SUFFIXES = ('-other', '-merged', '-stuff')


def clean_class_name(name: str) -> str:
    """Drop the COCO-panoptic suffixes (``-other``, ``-merged``, ``-stuff``)
    from a class name, as SEEM does before prompting (e.g.
    ``'wall-other-merged'`` -> ``'wall'``)."""
    for suffix in _NAME_SUFFIXES:
        name = name.replace(suffix, '')
    return name


def prompt_all_templates(name: str,
                         templates: Sequence[str] = PROMPT_TEMPLATES
                         ) -> list:
    """All prompts of one class for the inference-time template ensemble."""
    name = clean_class_name(name)
    return [template.format(name) for template in templates]


def prompt_random_template(name: str,
                           templates: Sequence[str] = PROMPT_TEMPLATES,
                           generator: Optional[torch.Generator] = None
                           ) -> str:
    """One prompt from a uniformly drawn template (training-time prompting).

    As in SEEM's training prompt, ``','`` is removed and ``'+'`` becomes a
    space in the class name.
    """
    idx = int(torch.randint(len(templates), (1, ), generator=generator))
    name = clean_class_name(name).replace(',', '').replace('+', ' ')
    return templates[idx].format(name)
