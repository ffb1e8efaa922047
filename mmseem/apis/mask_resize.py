"""Boolean masks at the original image size without full-size float logits.

SEEM's post-processing (``seem_postprocess.rescale_masks``) resizes mask
logits from the model's resolution ``(h, w)`` to the original image
``(H, W)`` with bilinear interpolation (``align_corners=False``) and
thresholds them. Done at once
this holds ``P x H x W`` float32 logits (4 bytes a pixel a prompt: 0.4 GB
for one prompt on a 10000 x 10000 photo, twice that with the copy the API
returned). :func:`resize_threshold` computes the same masks in bands of
output rows: a width pass to ``P x h x W`` float32, then for each band the
height interpolation and the threshold, written into a ``bool``
``P x H x W`` array (1 byte a pixel a prompt). The arithmetic is bilinear
interpolation as ``torch.nn.functional.interpolate`` does it (separable,
same source coordinates), so masks agree up to float rounding.
"""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ['resize_threshold']

# float32 elements of one height-pass band (~16 MB)
_BAND_ELEMENTS = 4 * 1024 * 1024


def resize_threshold(logits: torch.Tensor, size: Tuple[int, int],
                     threshold: float = 0.0) -> np.ndarray:
    """``logits`` ``[P, h, w]`` -> bool ``[P, H, W]`` = ``bilinear(logits,
    size) > threshold``, in bands (see the module docstring)."""
    num, h, w = logits.shape
    out_h, out_w = int(size[0]), int(size[1])
    logits = logits.detach().float()
    if (h, w) == (out_h, out_w) or num == 0:
        if num == 0:
            return np.zeros((0, out_h, out_w), dtype=bool)
        return (logits > threshold).cpu().numpy()
    # width pass (the height scale is 1: rows are kept exactly)
    rows = F.interpolate(logits[:, None], size=(h, out_w), mode='bilinear',
                         align_corners=False)[:, 0]  # [P, h, W]
    out = np.empty((num, out_h, out_w), dtype=bool)
    scale = h / out_h
    band = max(1, _BAND_ELEMENTS // max(num * out_w, 1))
    for start in range(0, out_h, band):
        ys = torch.arange(start, min(start + band, out_h),
                          device=rows.device, dtype=torch.float32)
        src = ((ys + 0.5) * scale - 0.5).clamp(min=0)
        y0 = src.floor().long().clamp(max=h - 1)
        y1 = (y0 + 1).clamp(max=h - 1)
        lam = (src - y0.float())[None, :, None]
        vals = torch.lerp(rows[:, y0], rows[:, y1], lam)
        out[:, start:start + len(ys)] = (vals > threshold).cpu().numpy()
    return out
