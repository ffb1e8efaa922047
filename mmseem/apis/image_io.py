"""Image loading for the mmseem APIs.

:func:`load_image` turns whatever a user has (a path, a numpy array, a PIL
image) into the one format every mmseem API works on: a contiguous
``uint8`` array ``[H, W, 3]`` in **RGB** order (as SAM's
``SamPredictor.set_image`` and PIL; cv2 / ``mmcv.imread`` give BGR, pass
``image_format='BGR'`` for such arrays). The APIs convert to BGR themselves
right before the config's pipeline, whose data preprocessor
(``bgr_to_rgb=True``) expects BGR as ``LoadImageFromFile`` produces it.

Conversions (decisions, documented here once):

* grayscale ``[H, W]`` / ``[H, W, 1]`` / PIL ``'L'``, ``'1'`` -> the gray
  value repeated in 3 channels;
* RGBA / LA / palette images with transparency -> the alpha channel is
  dropped (not composited on a background);
* 16-bit images (``uint16``, PIL ``'I;16'``) -> ``round(v / 257)``, which
  maps ``[0, 65535]`` exactly onto ``[0, 255]``;
* float images must lie in ``[0, 1]`` -> ``round(v * 255)``;
* bool images -> ``{0, 255}``; other integer types must lie in ``[0, 255]``.
* EXIF orientation: files and PIL images carrying an EXIF ``Orientation``
  tag are rotated / flipped upright (``PIL.ImageOps.exif_transpose``), as
  ``mmcv.imread`` (``flag='color'``) and ``LoadImageFromFile`` do for the
  training and ``mmseg.apis.inference_model`` paths, so the same photo has
  the same size and pixel grid -- and clicks land in the same place -- in
  every API. Arrays carry no EXIF and are taken as they are.

Anything else (``[3, H, W]`` channel-first arrays, NaN, out-of-range values,
unreadable files) is an error that names the problem and the fix.
"""
import os
from pathlib import Path
from typing import Union

import numpy as np

ImageLike = Union[str, Path, np.ndarray, 'PIL.Image.Image']  # noqa: F821

__all__ = ['load_image', 'ImageLike']

_FORMATS = ('RGB', 'BGR')


def _upright(img):
    """Apply the EXIF orientation tag (if any), as ``mmcv.imread``."""
    from PIL import ImageOps
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # unreadable EXIF: cv2 ignores it too
        return img
    if orientation in (None, 1):
        return img
    return ImageOps.exif_transpose(img)


def _from_pil(img, name: str) -> np.ndarray:
    """PIL image of any mode -> numpy array (``[H, W]`` or ``[H, W, C]``),
    upright by its EXIF orientation."""
    img = _upright(img)
    mode = img.mode
    if mode == 'P':  # palette: keep the alpha only to drop it below
        img = img.convert('RGBA' if 'transparency' in img.info else 'RGB')
    elif mode == 'PA':
        img = img.convert('RGBA')
    elif mode in ('CMYK', 'YCbCr', 'LAB', 'HSV', 'RGBX', 'RGBa', 'La'):
        img = img.convert('RGB')
    elif mode.startswith('I;16'):
        return np.asarray(img).astype(np.uint16)
    elif mode == 'I':  # 32-bit int; PNG 16-bit often opens as 'I'
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ValueError(
                f'{name}: 32-bit integer image with values outside '
                f'[0, 65535]; convert it to an 8-bit image first')
        return arr.astype(np.uint16)
    return np.asarray(img)


def _read_file(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError
    if not path.exists():
        raise FileNotFoundError(
            f'Image file {str(path)!r} does not exist; check the path '
            f'(relative paths are resolved from {os.getcwd()!r})')
    if path.is_dir():
        raise IsADirectoryError(
            f'{str(path)!r} is a directory, not an image file; pass one '
            f'image file')
    try:
        with Image.open(path) as img:
            img.load()
            return _from_pil(img, repr(str(path)))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(
            f'Cannot read image file {str(path)!r}: {err}. The file is '
            f'broken, truncated or not an image; re-export or re-download '
            f'it as PNG/JPEG, or pass the pixels as a numpy array') from None


def _to_hwc(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim == 2:
        return arr[..., None]
    if arr.ndim != 3:
        raise ValueError(
            f'{name} must be [H, W] (gray) or [H, W, C] with C in (1, 3, 4); '
            f'got shape {arr.shape}')
    if arr.shape[-1] not in (1, 3, 4):
        hint = ''
        if arr.shape[0] in (1, 3, 4):
            hint = ('; it looks channel-first [C, H, W]: pass '
                    'arr.transpose(1, 2, 0)')
        raise ValueError(
            f'{name} must be [H, W, C] with C in (1, 3, 4); got shape '
            f'{arr.shape}{hint}')
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f'{name} is empty: shape {arr.shape}')
    return arr


def _to_uint8(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return np.round(arr.astype(np.float64) / 257.0).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f'{name} contains NaN or infinite values; '
                             f'fix or clip them')
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0 or hi > 1:
            raise ValueError(
                f'{name} is a float image with values in [{lo:g}, {hi:g}]; '
                f'float images must lie in [0, 1]: divide by 255 (or '
                f'pass arr.astype(np.uint8) for values already in '
                f'[0, 255])')
        return np.round(arr * 255.0).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f'{name} has dtype {arr.dtype} with values in [{lo}, {hi}]; '
                f'only uint8, uint16, bool, float in [0, 1] or integers in '
                f'[0, 255] are understood: rescale it to uint8 first')
        return arr.astype(np.uint8)
    raise TypeError(f'{name} has unsupported dtype {arr.dtype}; pass uint8, '
                    f'uint16, bool or float in [0, 1]')


def load_image(image: ImageLike, image_format: str = 'RGB') -> np.ndarray:
    """Load an image as a contiguous ``uint8`` RGB array ``[H, W, 3]``.

    Args:
        image (str | Path | np.ndarray | PIL.Image.Image): an image file, an
            array ``[H, W]`` / ``[H, W, C]`` (C in 1, 3, 4) or a PIL image.
            See the module docstring for the dtype conversions.
        image_format (str): channel order of a given **array**: ``'RGB'``
            (default, as PIL / SAM) or ``'BGR'`` (as cv2 / ``mmcv.imread``).
            Files and PIL images are always decoded as RGB.

    Returns:
        np.ndarray: ``uint8`` ``[H, W, 3]`` RGB.
    """
    fmt = str(image_format).upper()
    if fmt not in _FORMATS:
        raise ValueError(
            f"image_format must be 'RGB' or 'BGR'; got {image_format!r}")
    if isinstance(image, (str, Path)):
        name = f'image file {str(image)!r}'
        arr = _read_file(Path(image))
        fmt = 'RGB'
    elif isinstance(image, np.ndarray):
        name, arr = 'image array', image
    else:
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover
            Image = None
        if Image is not None and isinstance(image, Image.Image):
            name, arr, fmt = 'PIL image', _from_pil(image, 'PIL image'), 'RGB'
        elif hasattr(image, 'detach') and hasattr(image, 'numpy'):
            raise TypeError(
                'image is a tensor; pass a numpy array [H, W, 3], e.g. '
                'tensor.permute(1, 2, 0).cpu().numpy() for a [3, H, W] '
                'tensor')
        else:
            raise TypeError(
                f'image must be a file path, a numpy array or a PIL image; '
                f'got {type(image).__name__}')
    arr = _to_uint8(_to_hwc(np.asarray(arr), name), name)
    channels = arr.shape[-1]
    if channels == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif channels == 4:
        arr = arr[..., :3]  # alpha dropped (see module docstring)
    if fmt == 'BGR':
        arr = arr[..., ::-1]
    return np.ascontiguousarray(arr)
