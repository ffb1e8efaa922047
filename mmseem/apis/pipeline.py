"""The inference pipeline of the mmseem APIs: an image array -> model inputs.

A config's ``test_pipeline`` is written for files with annotations (a
loader, the test resize, an annotation loader, a packer). For inference on
user images :func:`build_inference_pipeline` keeps what transforms the
image (e.g. ``mmdet.Resize``) and drops the rest: the image loader (images
come in as arrays through :func:`mmseem.apis.load_image`) and every
``Load*Annotations`` transform. A config without ``test_pipeline`` gets the
official demo resize: shortest side 512 (capped at 1333 on the long side).
"""
import copy
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from mmcv.transforms import Compose

from mmseem.registry import TRANSFORMS

__all__ = ['build_inference_pipeline', 'DEFAULT_INFERENCE_PIPELINE']

# official demo (demo/seem/app.py): Resize(512) on the shortest side
DEFAULT_INFERENCE_PIPELINE = [
    dict(type='mmdet.Resize', scale=(1333, 512), keep_ratio=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]


def _kept(transforms: Sequence[dict]) -> List[dict]:
    out = []
    for t in transforms:
        name = str(t.get('type', '')).split('.')[-1]
        if name.startswith('LoadImage') or name.endswith('Annotations'):
            continue
        out.append(copy.deepcopy(dict(t)))
    if not any(str(t.get('type', '')).split('.')[-1].startswith('Pack')
               for t in out):
        out.append(copy.deepcopy(DEFAULT_INFERENCE_PIPELINE[-1]))
    return out


def build_inference_pipeline(
        test_pipeline: Optional[Sequence[dict]] = None) -> Callable:
    """Build ``f(img_bgr, img_path=None) -> dict(inputs, data_samples)``.

    Args:
        test_pipeline (list[dict], optional): a config's ``test_pipeline``;
            its loaders and annotation loaders are dropped, a packer
            (``mmdet.PackDetInputs``) is added if it has none. ``None`` uses
            :data:`DEFAULT_INFERENCE_PIPELINE`.

    The returned callable takes a ``uint8`` ``[H, W, 3]`` **BGR** array (the
    order ``LoadImageFromFile`` gives and the data preprocessors expect).
    """
    cfgs = _kept(test_pipeline) if test_pipeline is not None else \
        copy.deepcopy(DEFAULT_INFERENCE_PIPELINE)
    pipeline = Compose([TRANSFORMS.build(t) for t in cfgs])

    def run(img_bgr: np.ndarray, img_path: Optional[str] = None) -> Dict:
        h, w = img_bgr.shape[:2]
        results = dict(img=img_bgr, img_shape=(h, w), ori_shape=(h, w),
                       img_path=img_path, img_id=0)
        return pipeline(results)

    run.transforms = cfgs
    return run
