"""Decoding the annotation files of the click benchmarks.

SEEM-specific need, not in mmdet/mmseg (see :mod:`.interactive_seg` for the
sets and their layouts): each encoding (:data:`MASK_FORMATS`) becomes an id
map, the object ids to evaluate and the ignore region, plus the COCO RLE /
box helpers the dataset stores them with. A file that decodes to the wrong
shape or lacks the expected fields raises ``ValueError`` naming the problem
(the dataset adds the file name).
"""
import io
from typing import List, Optional, Tuple

import mmcv
import numpy as np
import pycocotools.mask as mask_util
from PIL import Image

__all__ = [
    'MASK_FORMATS', 'VOC_IGNORE_VALUES', 'read_interactive_mask', 'rle_of',
    'bbox_of'
]

#: Mask encodings: ``'band128'`` (GrabCut / Berkeley: > 128 object, 128
#: ignore), ``'binary'`` (DAVIS345 / COCO_MVal: non-zero object),
#: ``'sbd_mat'`` (SBD ``inst/*.mat``), ``'voc_png'`` (VOC
#: ``SegmentationObject``).
MASK_FORMATS = ('band128', 'binary', 'sbd_mat', 'voc_png')

#: VOC void: gray value of the palette colour of index 255 (what RITM /
#: SimpleClick / SEEM use), and 255 for index maps saved without palette.
VOC_IGNORE_VALUES = (220, 255)


def _rgb(data: bytes) -> np.ndarray:
    """Decode image bytes to uint8 RGB [H, W, 3] (palette / gray expanded,
    as ``cv2.imread`` in colour mode does)."""
    return np.asarray(Image.open(io.BytesIO(data)).convert('RGB'))


def _voc_gray(data: bytes) -> np.ndarray:
    """Gray value [H, W] uint8 of each pixel's colour as
    ``cv2.cvtColor(cv2.imread(png), COLOR_BGR2GRAY)`` gives it (through
    the 256-entry palette when the PNG has one: same values, less work)."""
    img = Image.open(io.BytesIO(data))
    if img.mode != 'P':
        return mmcv.rgb2gray(np.asarray(img.convert('RGB')))
    palette = np.zeros((256, 3), np.uint8)
    colours = np.asarray(img.getpalette('RGB') or [], np.uint8).reshape(-1, 3)
    palette[:len(colours)] = colours[:256]
    return mmcv.rgb2gray(palette[None])[0][np.asarray(img)]


def read_interactive_mask(
        data: bytes, mask_format: str
) -> Tuple[np.ndarray, List[int], Optional[np.ndarray]]:
    """Decode one annotation file of a click benchmark.

    Args:
        data (bytes): the file's content.
        mask_format (str): one of :data:`MASK_FORMATS`.

    Returns:
        tuple: ``id_map`` int32 [H, W], the ``object_ids`` to evaluate (in
        evaluation order) and the ignore region bool [H, W] (None when the
        format has none).
    """
    if mask_format == 'band128':
        value = _rgb(data)[..., 2]  # cv2.imread(...)[:, :, 0] (blue)
        id_map = (value > 128).astype(np.int32)
        return id_map, [1] if id_map.any() else [], value == 128
    if mask_format == 'binary':
        id_map = (_rgb(data).max(-1) > 0).astype(np.int32)
        return id_map, [1] if id_map.any() else [], None
    if mask_format == 'voc_png':
        gray = _voc_gray(data)
        ignore = np.isin(gray, VOC_IGNORE_VALUES)
        ids = np.flatnonzero(np.bincount(gray.ravel(), minlength=256))
        return gray.astype(np.int32), [
            int(i) for i in ids if i != 0 and i not in VOC_IGNORE_VALUES
        ], ignore
    if mask_format == 'sbd_mat':
        from scipy.io import loadmat
        mat = loadmat(io.BytesIO(data))
        if 'GTinst' not in mat or 'Segmentation' not in (
                mat['GTinst'].dtype.names or ()):
            raise ValueError('SBD instance .mat files must hold the struct '
                             'GTinst with the field Segmentation (the '
                             'inst/ folder of SBD benchmark_RELEASE/dataset)')
        id_map = np.asarray(mat['GTinst']['Segmentation'][0, 0])
        if id_map.ndim != 2 or not np.issubdtype(id_map.dtype, np.integer):
            raise ValueError(
                f'GTinst.Segmentation is a {id_map.dtype} array of shape '
                f'{id_map.shape}; expected an [H, W] integer id map')
        id_map = id_map.astype(np.int32)
        ids = np.flatnonzero(np.bincount(id_map.ravel()))  # RITM's order
        return id_map, [int(i) for i in ids if i != 0], None
    raise ValueError(f'mask_format must be one of {MASK_FORMATS}, got '
                     f'{mask_format!r}')


def rle_of(mask: np.ndarray) -> dict:
    """COCO RLE of a bool [H, W] mask with ``counts`` as str (what mmdet's
    ``LoadAnnotations`` accepts)."""
    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return rle


def bbox_of(rle: dict) -> List[float]:
    """Tight xyxy box of an RLE mask (mmdet convention: ``x2 = x1 + w``)."""
    x, y, w, h = mask_util.toBbox(rle).tolist()
    return [x, y, x + w, y + h]
