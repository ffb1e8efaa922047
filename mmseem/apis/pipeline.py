"""The inference pipeline of the mmseem APIs: an image array -> model inputs.

A config's ``test_pipeline`` is written for files with annotations (a
loader, the test resize, an annotation loader, a packer). For inference on
user images :func:`build_inference_pipeline` keeps what transforms the
image (e.g. ``mmdet.Resize``) and drops the rest: the image loader (images
come in as arrays through :func:`mmseem.apis.load_image`) and every
``Load*Annotations`` transform. A config without ``test_pipeline`` gets the
official demo resize: shortest side 512 (capped at 1333 on the long side).

Thin images (e.g. 1 x 5000) that a keep-ratio resize would shrink to 0
pixels on their short side are refused before the resize (OpenCV would stop
with an assertion) with an error naming the size, the resize and the
smallest short side that works; pad or crop such images first.
"""
import copy
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import Compose

from mmseem.registry import TRANSFORMS

__all__ = [
    'build_inference_pipeline', 'check_image_size',
    'DEFAULT_INFERENCE_PIPELINE'
]

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


def _resized_size(cfg: dict, h: int, w: int) -> Optional[Tuple[int, int]]:
    """``(h', w')`` a keep-ratio ``*Resize`` with a fixed ``scale`` /
    ``scale_factor`` gives (mmcv's rounding), else ``None``."""
    name = str(cfg.get('type', '')).split('.')[-1]
    if name != 'Resize' or not cfg.get('keep_ratio', False):
        return None
    from mmcv import rescale_size
    scale = cfg.get('scale')
    if scale is not None:  # mmdet/mmcv: an int scale is (scale, scale)
        scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
    elif isinstance(cfg.get('scale_factor'), (int, float)):
        scale = float(cfg['scale_factor'])
    else:
        return None
    new_w, new_h = rescale_size((w, h), scale)
    return new_h, new_w


def check_image_size(transforms: Sequence[dict], h: int, w: int) -> None:
    """Raise ``ValueError`` if a keep-ratio resize of ``transforms`` would
    shrink an ``h x w`` image to less than one pixel on a side."""
    if h < 1 or w < 1:
        raise ValueError(f'the image is empty: size {h} x {w} (H x W)')
    for t in transforms:
        size = _resized_size(t, h, w)
        if size is None or min(size) >= 1:
            continue
        short, long = min(h, w), max(h, w)
        # the short side needed so that rounding keeps one pixel
        need = short
        while min(_resized_size(t, need if h <= w else long,
                                long if h <= w else need)) < 1:
            need += 1
        raise ValueError(
            f'the image of size {h} x {w} (H x W) is too thin for the test '
            f'resize {dict(t)}: it would become {size[0]} x {size[1]} '
            f'pixels. Pad or crop it so that its short side is at least '
            f'{need} px (aspect ratio at most about {long / need:.0f}:1)')


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
        check_image_size(cfgs, h, w)
        results = dict(img=img_bgr, img_shape=(h, w), ori_shape=(h, w),
                       img_path=img_path, img_id=0)
        return pipeline(results)

    run.transforms = cfgs
    return run
