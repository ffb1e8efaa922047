"""DAVIS-style video object segmentation dataset (folder layout).

SEEM-specific, not in mmdet/mmseg: SEEM evaluates video object segmentation
by prompting with the first-frame mask (the reference, semi-supervised VOS)
and segmenting the later frames. Two layouts under ``data_root`` are read::

    # multi-sequence (DAVIS 2016/2017; DAVIS's 480p sub-folder goes into
    # data_prefix, e.g. img_path='JPEGImages/480p')
    JPEGImages/<seq>/00000.jpg ...    Annotations/<seq>/00000.png ...
    # single sequence, flat (e.g. shared/data/davis_car_shadow)
    JPEGImages/00000.jpg ...          Annotations/00000.png ...

Annotations are either palette / id PNGs (DAVIS 2017: 0 = background,
k = object k, 255 = void) or binary 0/255 masks (DAVIS 2016: one object).
Frames without an annotation PNG (e.g. DAVIS test-dev) get
``seg_map_path=None``; the first frame of every sequence must be annotated
since it is the reference prompt.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from PIL import Image

from mmseem.registry import DATASETS

_IMG_EXTS = ('.jpg', '.jpeg', '.png')

_LAYOUT = ('expected DAVIS layout under data_root: '
           '{img}/<seq>/<frame>.jpg with {ann}/<seq>/<frame>.png, or the flat '
           'single-sequence layout {img}/<frame>.jpg with {ann}/<frame>.png')


def read_davis_annotation(path: str) -> np.ndarray:
    """Read a DAVIS annotation PNG as an int id map [H, W].

    Binary 0/255 masks (DAVIS 2016) become {0, 1}; palette / gray id maps
    (DAVIS 2017) keep their ids, 255 = void.
    """
    try:
        with Image.open(path) as img:
            ann = np.array(img)
    except (OSError, ValueError) as e:  # PIL: UnidentifiedImageError, ...
        raise ValueError(f'cannot read the DAVIS annotation {path}: {e} '
                         '(expected a palette / gray id PNG or a binary '
                         '0/255 mask)') from e
    if ann.ndim not in (2, 3):
        raise ValueError(f'DAVIS annotation {path} has shape {ann.shape}; '
                         'expected [H, W] ids or an [H, W, C] colour mask')
    if ann.ndim == 3:  # RGB(A) saved masks: any non-black pixel = object
        ann = (ann[..., :3].max(-1) > 0).astype(np.uint8)
    ids = np.unique(ann)
    if set(ids.tolist()) <= {0, 255}:  # DAVIS 2016: binary foreground
        ann = (ann == 255).astype(np.uint8)
    return ann.astype(np.int64)


def _check_same_size(img_path: str, ann_path: str, ann_hw) -> None:
    """The reference annotation must cover its frame pixel for pixel."""
    try:
        with Image.open(img_path) as img:
            w, h = img.size
    except (OSError, ValueError) as e:
        raise ValueError(f'cannot read the DAVIS frame {img_path}: {e}'
                         ) from e
    if (h, w) != tuple(ann_hw):
        raise ValueError(
            f'DAVIS annotation {ann_path} is {ann_hw[0]}x{ann_hw[1]} but its '
            f'frame {img_path} is {h}x{w} (h x w): the annotation belongs to '
            'another resolution (e.g. Full-Resolution vs 480p folders)')


@DATASETS.register_module()
class DAVISDataset(BaseDataset):
    """Frames of DAVIS-style sequences with the first-frame mask as prompt.

    Each item (``per_sequence=False``) is one frame::

        dict(img_path, seg_map_path, seq_name, frame_idx, num_frames,
             num_objects, ref_img_path, ref_seg_map_path)

    ``ref_*`` point at the sequence's first frame and its annotation (the
    reference mask prompt); ``num_objects`` is the largest object id of that
    annotation (DAVIS's object count). With ``per_sequence=True`` each item
    is a whole sequence: ``img_paths`` / ``seg_map_paths`` lists plus the
    same sequence fields.

    Args:
        data_root (str): dataset root.
        data_prefix (dict): ``img_path`` / ``seg_map_path`` sub-folders.
            Default ``JPEGImages`` / ``Annotations``.
        ann_file (str): optional text file (e.g. ``ImageSets/2017/val.txt``)
            with one sequence name per line; default: all sequences.
        sequences (Sequence[str], optional): explicit sequence names.
        seq_name (str, optional): name of the sequence in the flat layout;
            default the basename of ``data_root``.
        per_sequence (bool): one item per sequence instead of per frame.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`.
    """
    METAINFO = dict(classes=('background', 'object'))

    def __init__(self,
                 data_root: str = '',
                 data_prefix: dict = dict(
                     img_path='JPEGImages', seg_map_path='Annotations'),
                 ann_file: str = '',
                 sequences: Optional[Sequence[str]] = None,
                 seq_name: Optional[str] = None,
                 per_sequence: bool = False,
                 **kwargs) -> None:
        self.sequences = None if sequences is None else list(sequences)
        self.seq_name = seq_name
        self.per_sequence = per_sequence
        super().__init__(
            data_root=data_root,
            data_prefix=dict(data_prefix),
            ann_file=ann_file,
            **kwargs)

    def _sequence_dirs(self, img_dir: str, ann_dir: str) -> dict:
        """Map sequence name -> (image folder, annotation folder)."""
        entries = sorted(os.listdir(img_dir))
        if any(e.lower().endswith(_IMG_EXTS) for e in entries):  # flat
            name = self.seq_name or osp.basename(
                osp.normpath(self.data_root or img_dir))
            return {name: (img_dir, ann_dir)}
        seqs = {
            e: (osp.join(img_dir, e), osp.join(ann_dir, e))
            for e in entries if osp.isdir(osp.join(img_dir, e))
        }
        wanted = self.sequences
        if wanted is None and self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(
                    f'ann_file {self.ann_file} not found; it should list one '
                    'sequence name per line')
            with open(self.ann_file) as f:
                wanted = [line.strip() for line in f if line.strip()]
        if wanted is not None:
            missing = [s for s in wanted if s not in seqs]
            if missing:
                raise FileNotFoundError(
                    f'sequences {missing} not found under {img_dir}')
            seqs = {s: seqs[s] for s in wanted}
        return seqs

    def load_data_list(self) -> List[dict]:
        """List the frames of every sequence."""
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path', '')
        layout = _LAYOUT.format(img=img_dir, ann=ann_dir)
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'DAVIS image folder {img_dir} not found '
                f'(data_root={self.data_root!r}); {layout}')
        if not osp.isdir(ann_dir):
            raise FileNotFoundError(
                f'DAVIS annotation folder {ann_dir} not found '
                f'(data_root={self.data_root!r}); {layout}')
        data_list = []
        for seq, (seq_img, seq_ann) in self._sequence_dirs(img_dir,
                                                           ann_dir).items():
            frames = sorted(
                f for f in os.listdir(seq_img)
                if f.lower().endswith(_IMG_EXTS))
            if not frames:
                raise FileNotFoundError(f'no frames in {seq_img}; {layout}')
            img_paths = [osp.join(seq_img, f) for f in frames]
            seg_paths = []
            for f in frames:
                p = osp.join(seq_ann, osp.splitext(f)[0] + '.png')
                seg_paths.append(p if osp.isfile(p) else None)
            if seg_paths[0] is None:
                raise FileNotFoundError(
                    f'sequence {seq}: the first frame {frames[0]} has no '
                    f'annotation in {seq_ann}; it is the reference prompt')
            ref_ann = read_davis_annotation(seg_paths[0])
            _check_same_size(img_paths[0], seg_paths[0], ref_ann.shape)
            valid = ref_ann[ref_ann != 255]
            seq_info = dict(
                seq_name=seq,
                num_frames=len(frames),
                num_objects=int(valid.max()) if valid.size else 0,
                ref_img_path=img_paths[0],
                ref_seg_map_path=seg_paths[0],
                reduce_zero_label=False,
                seg_fields=[])
            if self.per_sequence:
                data_list.append(
                    dict(img_paths=img_paths, seg_map_paths=seg_paths,
                         **seq_info))
                continue
            for idx, (img, seg) in enumerate(zip(img_paths, seg_paths)):
                data_list.append(
                    dict(img_path=img, seg_map_path=seg, frame_idx=idx,
                         **seq_info))
        return data_list
