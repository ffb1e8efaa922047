"""The meta of converted checkpoints: ``dataset_meta`` and the wrapper.

SEEM-specific (used by ``tools/model_converters/seem2mmseem.py`` through
:mod:`.checkpoint_convert`): a converted state dict is saved as an mmengine
checkpoint whose ``meta.dataset_meta`` holds the vocabulary (the 133 COCO
panoptic classes by default) and a palette, in plain python types so that
torch's ``weights_only`` loader reads it.
"""
from collections import OrderedDict
from typing import List, Mapping, Optional, Sequence

import torch

__all__ = ['build_dataset_meta', 'build_checkpoint']


def _coco_panoptic_palette(num_classes: int) -> Optional[List[List[int]]]:
    """mmdet's 133-colour COCO panoptic palette, if mmdet is importable."""
    try:
        from mmdet.datasets import CocoPanopticDataset
    except ImportError:
        return None
    palette = CocoPanopticDataset.METAINFO.get('palette')
    if palette is None or len(palette) != num_classes:
        return None
    return [[int(c) for c in rgb] for rgb in palette]


def _seeded_palette(num_classes: int, seed: int = 0) -> List[List[int]]:
    g = torch.Generator().manual_seed(seed)
    colours = torch.randint(0, 256, (num_classes, 3), generator=g)
    return colours.tolist()


def build_dataset_meta(classes: Optional[Sequence[str]] = None,
                       num_things: Optional[int] = None) -> dict:
    """``dataset_meta`` with plain python types (``weights_only`` safe).

    Defaults to the 133 COCO panoptic classes (80 things, then 53 stuff)
    that SEEM and X-Decoder were trained with, with mmdet's COCO panoptic
    palette (``mmseg.apis.show_result_pyplot`` needs ``palette``). Other
    class lists get a seeded random palette.
    """
    palette = None
    if classes is None:
        from mmseem.datasets.coco_panoptic_classes import (
            COCO_PANOPTIC_CLASSES, COCO_PANOPTIC_THING_CLASSES)
        classes = COCO_PANOPTIC_CLASSES
        num_things = len(COCO_PANOPTIC_THING_CLASSES)
        palette = _coco_panoptic_palette(len(classes))
    classes = [str(c) for c in classes]
    if palette is None:
        palette = _seeded_palette(len(classes))
    meta = {'classes': classes, 'palette': palette}
    if num_things is not None:
        meta['thing_classes'] = classes[:num_things]
        meta['stuff_classes'] = classes[num_things:]
    return meta


def build_checkpoint(state_dict: Mapping[str, torch.Tensor],
                     converted_from: str,
                     dataset_meta: Optional[dict] = None) -> dict:
    """Wrap a converted state dict as an mmengine checkpoint."""
    from mmseem.version import __version__
    return {
        'state_dict': OrderedDict(state_dict),
        'meta': {
            'dataset_meta':
            dataset_meta if dataset_meta is not None else
            build_dataset_meta(),
            'mmseem_version': str(__version__),
            'converted_from': str(converted_from),
        }
    }
