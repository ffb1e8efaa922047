"""Click-benchmark datasets for interactive segmentation (NoC evaluation).

SEEM-specific need, not in mmdet/mmseg: OpenMMLab has no loader for the
standard interactive-segmentation test sets. The layouts are the ones RITM
(``isegm/data/datasets``) and SimpleClick document, i.e. how the sets are
downloaded (RITM README's dataset table)::

    GrabCut   data_GT/*.jpg|bmp   boundary_GT/*.bmp    0 bg, 128 band, 255 obj
    Berkeley  images/*.jpg        masks/*.png          0 bg, 128 band, 255 obj
    DAVIS345  img/*.jpg           gt/*.png             binary (non-zero = obj)
    COCO_MVal img/*.jpg           gt/*.png             binary (non-zero = obj)
    SBD       img/<id>.jpg        inst/<id>.mat        GTinst.Segmentation ids
              val.txt (the ``benchmark_RELEASE/dataset`` folder of SBD)
    PascalVOC JPEGImages/<id>.jpg SegmentationObject/<id>.png  instance PNG
              ImageSets/Segmentation/val.txt (``VOCdevkit/VOC2012``)

In the folder-pair sets an image and its mask share the file stem. Every
object is one evaluation target (RITM ``evaluate_dataset`` loops over
``sample.objects_ids``): one per image in GrabCut / Berkeley / DAVIS345 /
COCO_MVal, every instance in SBD and VOC. Ignored pixels, excluded from the
IoU (and, in the standard protocol, from the click error regions):

* GrabCut / Berkeley: the 128 band around the object boundary (RITM:
  ``mask == 128 -> ignore``, ``> 128 -> object``, read from the blue channel
  as ``cv2.imread(...)[:, :, 0]``);
* PascalVOC: the void border, palette index 255, whose colour
  ``(224, 224, 192)`` is gray value 220 -- RITM, SimpleClick and SEEM
  (``pascalvoc_dataset_mapper_ix.py``, ``ignore_id = 220``) all read the PNG
  as ``cv2.imread`` + ``COLOR_BGR2GRAY`` and use the gray values as instance
  ids, so objects are ordered by gray value (this order decides SEEM's groups
  of 5) and instances whose colours share a gray value (e.g. 1 and 16) are
  one object there and here; a gray value of 255 (an index map saved
  without palette) is void too;
* DAVIS345, COCO_MVal, SBD: none.

Each image becomes one mmdet data info::

    dict(img_path, img_id, height, width, seg_map_path,
         instances=[dict(bbox, bbox_label=0, mask=RLE, ignore_flag=0,
                         instance_id), ...,
                    dict(bbox, bbox_label=0, mask=RLE, ignore_flag=1)])

The masks are COCO RLEs, so mmdet's ``LoadAnnotations(with_mask=True)``
loads the objects and ``PackDetInputs`` puts them in
``data_sample.gt_instances``; the last, ``ignore_flag=1`` entry (present
only when there are ignored pixels) is the ignore region, which
``PackDetInputs`` moves to ``data_sample.ignored_instances`` -- mmdet's place
for regions left out of evaluation. SEEM reads it there when
``test_cfg.ignore_regions='ignored_instances'``.

Masks are read once when the dataset is built (RITM's SBD evaluation set
does the same to list its instances), so the object count is known up front.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet.datasets import BaseDetDataset
from mmengine import fileio
from mmengine.logging import print_log
from PIL import Image

from mmseem.registry import DATASETS
from .interactive_masks import (MASK_FORMATS, VOC_IGNORE_VALUES,
                                read_interactive_mask)
from .interactive_masks import bbox_of as _bbox
from .interactive_masks import rle_of as _rle

__all__ = [
    'InteractiveSegDataset', 'GrabCutDataset', 'BerkeleyDataset',
    'DAVIS345Dataset', 'COCOMValDataset', 'SBDInteractiveDataset',
    'VOCInteractiveDataset', 'read_interactive_mask', 'MASK_FORMATS',
    'VOC_IGNORE_VALUES'
]

_IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')

def _first(names: Sequence[str], n: int = 5) -> str:
    more = f' (+{len(names) - n} more)' if len(names) > n else ''
    return ', '.join(names[:n]) + more


@DATASETS.register_module()
class InteractiveSegDataset(BaseDetDataset):
    """A click benchmark: images with per-object masks and ignore regions.

    Two layouts are read under ``data_root``: with ``ann_file`` (a split
    file, one image id per line) the image is ``<img><id><img_suffix>`` and
    the annotation ``<seg><id><seg_map_suffix>``; without it every image in
    ``data_prefix['img']`` is paired with the file of the same stem in
    ``data_prefix['seg']``. See the module docstring for the data info; the
    named subclasses set the defaults of the standard sets (one loader,
    since the sets differ only in folders, split file and mask encoding).

    Args:
        mask_format (str, optional): annotation encoding, one of
            :data:`MASK_FORMATS`. Default: the class's ``MASK_FORMAT``.
        data_prefix (dict, optional): ``img`` and ``seg`` sub-folders.
            Default: the class's ``DATA_PREFIX``.
        ann_file (str, optional): split file relative to ``data_root``; ''
            pairs the folders by file stem. Default: the class's
            ``ANN_FILE``.
        img_suffix (str): image extension with ``ann_file``. Default '.jpg'.
        seg_map_suffix (str, optional): annotation extension with
            ``ann_file``. Default: the class's ``SEG_MAP_SUFFIX``.
        check_image_size (bool): check that each image (its header) has the
            size of its mask. Default True.
        allow_unpaired_masks (bool): without ``ann_file``, skip masks that
            have no image (RITM silently does) instead of raising. Default
            False.
        **kwargs: see :class:`mmdet.datasets.BaseDetDataset`.
    """
    METAINFO = dict(classes=('object', ), palette=[(220, 20, 60)])
    MASK_FORMAT = 'binary'
    DATA_PREFIX = dict(img='', seg='')
    ANN_FILE = ''
    SEG_MAP_SUFFIX = '.png'
    #: shown in every layout error
    LAYOUT = ('<data_root>/<img>/<name>.<ext> with the mask '
              '<data_root>/<seg>/<name>.<ext> of the same stem, or, with '
              'ann_file, the image ids listed in <data_root>/<ann_file>')

    def __init__(self,
                 *args,
                 mask_format: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 ann_file: Optional[str] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: Optional[str] = None,
                 check_image_size: bool = True,
                 allow_unpaired_masks: bool = False,
                 **kwargs) -> None:
        self.mask_format = (
            self.MASK_FORMAT if mask_format is None else mask_format)
        if self.mask_format not in MASK_FORMATS:
            raise ValueError(f'mask_format must be one of {MASK_FORMATS}, '
                             f'got {self.mask_format!r}')
        self.img_suffix = img_suffix
        self.check_image_size = check_image_size
        self.allow_unpaired_masks = allow_unpaired_masks
        super().__init__(
            *args,
            data_prefix=dict(
                self.DATA_PREFIX if data_prefix is None else data_prefix),
            ann_file=self.ANN_FILE if ann_file is None else ann_file,
            seg_map_suffix=(self.SEG_MAP_SUFFIX
                            if seg_map_suffix is None else seg_map_suffix),
            **kwargs)

    # ------------------------------------------------------------------
    def _layout_error(self, what: str) -> FileNotFoundError:
        return FileNotFoundError(
            f'{type(self).__name__}: {what} (data_root={self.data_root!r}). '
            f'Expected layout: {self.LAYOUT}')

    def _pairs(self) -> List[Tuple[str, str, str]]:
        """(name, image path, mask path) of every sample, in order."""
        img_dir = self.data_prefix.get('img', '')
        seg_dir = self.data_prefix.get('seg', '')
        for key, folder in (('img', img_dir), ('seg', seg_dir)):
            if not folder or not fileio.isdir(
                    folder, backend_args=self.backend_args):
                raise self._layout_error(
                    f'{key} folder {folder!r} not found')
        if self.ann_file:
            return self._pairs_from_split(img_dir, seg_dir)
        return self._pairs_by_stem(img_dir, seg_dir)

    def _pairs_from_split(self, img_dir, seg_dir):
        if not fileio.exists(self.ann_file, backend_args=self.backend_args):
            raise self._layout_error(f'split file {self.ann_file!r} not found')
        text = fileio.get_text(self.ann_file, backend_args=self.backend_args)
        names = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if not names:
            raise self._layout_error(f'split file {self.ann_file!r} is empty')
        pairs, missing = [], []
        for name in names:
            img = fileio.join_path(img_dir, name + self.img_suffix,
                                   backend_args=self.backend_args)
            seg = fileio.join_path(seg_dir, name + self.seg_map_suffix,
                                   backend_args=self.backend_args)
            for path in (img, seg):
                if not fileio.exists(path, backend_args=self.backend_args):
                    missing.append(path)
            pairs.append((name, img, seg))
        if missing:
            raise self._layout_error(
                f'{len(missing)} file(s) listed by {self.ann_file!r} are '
                f'missing: {_first(missing)}')
        return pairs

    def _list(self, folder: str) -> Dict[str, str]:
        """stem -> file name of the images in ``folder``."""
        out: Dict[str, str] = {}
        for name in sorted(
                fileio.list_dir_or_file(
                    folder, list_dir=False,
                    backend_args=self.backend_args)):
            stem, ext = osp.splitext(name)
            if ext.lower() not in _IMG_EXTS:
                continue
            if stem in out:
                raise self._layout_error(
                    f'{folder!r} holds two files with the stem {stem!r} '
                    f'({out[stem]}, {name}): image and mask are paired by '
                    'stem')
            out[stem] = name
        return out

    def _pairs_by_stem(self, img_dir, seg_dir):
        imgs, segs = self._list(img_dir), self._list(seg_dir)
        if not imgs:
            raise self._layout_error(f'no images in {img_dir!r}')
        problems = []
        no_mask = sorted(set(imgs) - set(segs))
        if no_mask:
            problems.append(f'{len(no_mask)} image(s) in {img_dir!r} have no '
                            f'mask in {seg_dir!r}: {_first(no_mask)}')
        no_img = sorted(set(segs) - set(imgs))
        if no_img and not self.allow_unpaired_masks:
            problems.append(f'{len(no_img)} mask(s) in {seg_dir!r} have no '
                            f'image in {img_dir!r}: {_first(no_img)} '
                            '(allow_unpaired_masks=True skips them)')
        if problems:
            raise self._layout_error('images and masks are paired by file '
                                     'stem, but ' + '; '.join(problems))
        join = fileio.join_path
        return [(stem, join(img_dir, imgs[stem],
                            backend_args=self.backend_args),
                 join(seg_dir, segs[stem], backend_args=self.backend_args))
                for stem in sorted(imgs, key=imgs.get)]

    def _image_size(self, img_path: str) -> Tuple[int, int]:
        """(h, w) from the image header."""
        with fileio.get_local_path(
                img_path, backend_args=self.backend_args) as path:
            with Image.open(path) as img:
                w, h = img.size
        return h, w

    # ------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Read every mask and list its objects and ignore region."""
        data_list, empty = [], []
        for name, img_path, seg_path in self._pairs():
            try:
                id_map, ids, ignore = read_interactive_mask(
                    fileio.get(seg_path, backend_args=self.backend_args),
                    self.mask_format)
            except (OSError, ValueError) as e:
                raise ValueError(f'cannot read the {self.mask_format!r} mask '
                                 f'{seg_path}: {e}') from e
            h, w = id_map.shape
            if self.check_image_size:
                img_hw = self._image_size(img_path)
                if img_hw != (h, w):
                    raise ValueError(
                        f'image {img_path} is {img_hw[0]}x{img_hw[1]} but '
                        f'its mask {seg_path} is {h}x{w} (h x w): wrong '
                        'pairing or a resized file')
            instances = []
            for obj_id in ids:
                rle = _rle(id_map == obj_id)
                instances.append(
                    dict(bbox=_bbox(rle), bbox_label=0, mask=rle,
                         ignore_flag=0, instance_id=obj_id))
            if not ids:
                empty.append(seg_path)
            if ignore is not None and ignore.any():
                rle = _rle(ignore)
                instances.append(
                    dict(bbox=_bbox(rle), bbox_label=0, mask=rle,
                         ignore_flag=1))
            data_list.append(
                dict(img_path=img_path, img_id=name, height=h, width=w,
                     seg_map_path=seg_path, instances=instances))
        if empty:
            print_log(
                f'{type(self).__name__}: {len(empty)} mask(s) hold no '
                f'object and add nothing to the benchmark: {_first(empty)}',
                logger='current', level=30)
        return data_list

    @property
    def num_objects(self) -> int:
        """Evaluation targets (objects, not ignore regions) in the set."""
        return sum(
            sum(1 for inst in self.get_data_info(i)['instances']
                if not inst['ignore_flag']) for i in range(len(self)))


@DATASETS.register_module()
class GrabCutDataset(InteractiveSegDataset):
    """GrabCut: 50 images, one object each; the 128 boundary band is
    ignored (RITM ``GrabCutDataset``; f-BRS release ``GrabCut.zip``)."""
    MASK_FORMAT = 'band128'
    DATA_PREFIX = dict(img='data_GT/', seg='boundary_GT/')
    LAYOUT = ('data_GT/<name>.jpg|.bmp (images) and boundary_GT/<name>.bmp '
              '(masks: 255 object, 128 ignored band, 0 background) under '
              'data_root, as in GrabCut.zip')


@DATASETS.register_module()
class BerkeleyDataset(InteractiveSegDataset):
    """Berkeley: one object per image-mask pair (RITM's table: 96 images,
    100 instances); the 128 band is ignored (RITM ``BerkeleyDataset``;
    ``Berkeley.zip``)."""
    MASK_FORMAT = 'band128'
    DATA_PREFIX = dict(img='images/', seg='masks/')
    LAYOUT = ('images/<name>.jpg and masks/<name>.png (255 object, 128 '
              'ignored band, 0 background) under data_root, as in '
              'Berkeley.zip')


@DATASETS.register_module()
class DAVIS345Dataset(InteractiveSegDataset):
    """DAVIS interactive subset: 345 frames, one object each (RITM
    ``DavisDataset``; ``DAVIS.zip``). Not the video set of
    :class:`~mmseem.datasets.DAVISDataset`."""
    MASK_FORMAT = 'binary'
    DATA_PREFIX = dict(img='img/', seg='gt/')
    LAYOUT = ('img/<name>.jpg and gt/<name>.png (non-zero = object) under '
              'data_root, as in the 345-frame DAVIS.zip of f-BRS / RITM')


@DATASETS.register_module()
class COCOMValDataset(InteractiveSegDataset):
    """COCO MVal: 800 COCO images, one object each (RITM reads it with
    ``DavisDataset``; ``COCO_MVal.zip``)."""
    MASK_FORMAT = 'binary'
    DATA_PREFIX = dict(img='img/', seg='gt/')
    LAYOUT = ('img/<name>.jpg and gt/<name>.png (non-zero = object) under '
              'data_root, as in COCO_MVal.zip')


@DATASETS.register_module()
class SBDInteractiveDataset(InteractiveSegDataset):
    """SBD val (2857 images, 6671 instances), every instance one target
    (RITM ``SBDEvaluationDataset``: ids of ``GTinst.Segmentation``, no
    ignore region)."""
    MASK_FORMAT = 'sbd_mat'
    DATA_PREFIX = dict(img='img/', seg='inst/')
    ANN_FILE = 'val.txt'
    SEG_MAP_SUFFIX = '.mat'
    LAYOUT = ('img/<id>.jpg, inst/<id>.mat (struct GTinst, field '
              'Segmentation: 0 background, k instance k) and the split file '
              'val.txt under data_root, i.e. the benchmark_RELEASE/dataset '
              'folder of the SBD tarball')


@DATASETS.register_module()
class VOCInteractiveDataset(InteractiveSegDataset):
    """Pascal VOC 2012 val (1449 images), every instance of
    ``SegmentationObject`` one target, the void border ignored (SEEM's
    ``pascalvoc_val`` and SimpleClick's ``PascalVOC``)."""
    MASK_FORMAT = 'voc_png'
    DATA_PREFIX = dict(img='JPEGImages/', seg='SegmentationObject/')
    ANN_FILE = 'ImageSets/Segmentation/val.txt'
    LAYOUT = ('JPEGImages/<id>.jpg, SegmentationObject/<id>.png (palette '
              'PNG: 0 background, k instance k, 255 void border) and '
              'ImageSets/Segmentation/val.txt under data_root, i.e. '
              'VOCdevkit/VOC2012')
