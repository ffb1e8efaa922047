"""Semi-supervised video object segmentation with SEEM's visual referring.

SEEM-specific, not in mmdet/mmseg: SEEM segments a video by prompting every
frame with a *reference*: an image and its object masks, encoded by the
visual sampler into reference tokens (``model.predict_refimg``, the
official ``evaluate_referring_image`` + ``evaluate_demo`` of
``demo/seem/tasks/interactive.py``, ``interactive_infer_video``, which
encodes the reference once and then segments each frame with it). No
temporal memory is used.

Reference choice (documented decision):

* ``reference='first'`` (default, as SEEM's video demo): every frame is
  prompted with the first frame and its given mask (DAVIS's semi-supervised
  protocol: the first-frame annotation is the only given mask).
* ``reference='previous'``: frame ``t`` is prompted with frame ``t - 1`` and
  its *predicted* masks (a simple propagation that follows appearance
  changes but can drift); when a previous prediction lost an object (empty
  mask) the first frame is used for that step instead.

Objects: ids ``1..num_objects`` of the first-frame annotation (DAVIS 2016
binary masks = one object). An object absent from the reference gets an
empty prediction. Predictions are bool ``pred_masks`` [K, H0, W0] at the
original frame size; the frame's annotation (``seg_map_path``) is read into
``gt_id_map`` for :class:`mmseem.evaluation.metrics.VOSMetric`.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from mmseem.datasets.davis import read_davis_annotation
from mmseem.structures.visual_prompts import VisualPrompts
from .image_io import load_image

__all__ = ['REFERENCE_MODES', 'VideoPropagator', 'propagate_video',
           'id_map_to_masks']

REFERENCE_MODES = ('first', 'previous')


def id_map_to_masks(id_map: np.ndarray, num_objects: int) -> np.ndarray:
    """Object-id map [H, W] (0 = background, 255 = void) -> bool [K, H, W]."""
    id_map = np.asarray(id_map)
    return id_map[None] == np.arange(1, num_objects + 1)[:, None, None]


def _resize_masks(masks: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of bool [K, H, W] to ``size`` (H', W')."""
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    return np.stack([
        cv2.resize(m.astype(np.uint8), (size[1], size[0]),
                   interpolation=cv2.INTER_NEAREST) > 0 for m in masks
    ]) if len(masks) else np.zeros((0, ) + tuple(size), bool)


def _meta(sample, key, default=None):
    return sample.metainfo.get(key, sample.get(key, default))


class VideoPropagator:
    """Stateful per-frame VOS with reference prompts (see module doc).

    Feed frames in order, sequence by sequence; frame 0 of a sequence sets
    its reference (its ``ref_seg_map_path`` / ``seg_map_path`` annotation,
    or the masks given to :meth:`set_reference`).

    Args:
        model: SEEM (``predict_refimg``, ``data_preprocessor``).
        reference (str): ``'first'`` or ``'previous'``.
        load_reference (callable, optional): ``load_reference(sample) ->
            (inputs [1, 3, H, W], data_sample)`` of frame 0 of ``sample``'s
            sequence, used when a sequence is entered at a later frame
            (e.g. a distributed sampler split it).
        load_gt (bool): read each frame's ``seg_map_path`` into
            ``gt_id_map`` for the metric. Default True.
    """

    def __init__(self,
                 model,
                 reference: str = 'first',
                 load_reference: Optional[Callable] = None,
                 load_gt: bool = True):
        if reference not in REFERENCE_MODES:
            raise ValueError(f'reference must be one of {REFERENCE_MODES}, '
                             f'got {reference!r}')
        if not hasattr(model, 'predict_refimg'):
            raise TypeError(f'{type(model).__name__} has no predict_refimg: '
                            'video propagation needs a SEEM model')
        switch = getattr(getattr(model, 'predictor', None), 'task_switch',
                         {})
        if not switch.get('spatial', True):
            raise TypeError(
                f'{type(model).__name__} was built without spatial (visual '
                'prompt) queries (predictor spatial=False, e.g. X-Decoder): '
                'it cannot take a reference mask prompt')
        self.model = model
        self.reference = reference
        self.load_reference = load_reference
        self.load_gt = load_gt
        self.reset()

    def reset(self) -> None:
        """Forget the current sequence."""
        self.seq_name = None
        self.num_objects = 0
        self.first = None  # (inputs, masks at img_shape [K, h, w])
        self.previous = None
        self._first_tokens = None  # encode_refimg of the first frame

    # ------------------------------------------------------------------
    def set_reference(self, inputs: torch.Tensor, data_sample,
                      masks: Optional[np.ndarray] = None,
                      num_objects: Optional[int] = None) -> None:
        """Start a sequence with frame ``inputs`` [1, 3, H, W] and its masks
        (bool [K, H0, W0] at ``ori_shape``; default: read from the sample's
        ``ref_seg_map_path`` or ``seg_map_path``)."""
        if masks is None:
            path = _meta(data_sample, 'ref_seg_map_path') or _meta(
                data_sample, 'seg_map_path')
            if path is None:
                raise ValueError(
                    'the reference frame needs its object masks: pass masks '
                    'or put ref_seg_map_path (DAVISDataset sets it) into the '
                    "sample's metainfo (PackDetInputs meta_keys)")
            id_map = read_davis_annotation(path)
            if num_objects is None:
                num_objects = _meta(data_sample, 'num_objects')
            if num_objects is None:
                valid = id_map[id_map != 255]
                num_objects = int(valid.max()) if valid.size else 0
            masks = id_map_to_masks(id_map, num_objects)
        masks = np.asarray(masks).astype(bool)
        if masks.ndim != 3:
            raise ValueError(f'reference masks must be [K, H, W], got '
                             f'{masks.shape}')
        ori = _meta(data_sample, 'ori_shape')
        if ori is not None and tuple(masks.shape[-2:]) != tuple(ori[:2]):
            raise ValueError(
                f'reference masks have size {tuple(masks.shape[-2:])} but '
                f'the reference frame has size {tuple(ori[:2])} (ori_shape); '
                'masks are not stretched: give them at the frame size')
        self.seq_name = _meta(data_sample, 'seq_name')
        self.num_objects = len(masks)
        img_shape = tuple(_meta(data_sample, 'img_shape')[:2])
        self.first = (inputs, _resize_masks(masks, img_shape))
        self.previous = None
        self._first_tokens = None
        self._first_ori = masks

    def _prompts(self, ref_masks: np.ndarray):
        present = np.flatnonzero(ref_masks.any(axis=(1, 2)))
        if len(present) == 0:
            return None, present
        return VisualPrompts.from_masks(ref_masks[present]), present

    @torch.no_grad()
    def predict_frame(self, inputs: torch.Tensor, data_sample):
        """Segment one frame ``inputs`` [1, 3, H, W] with the reference."""
        ref_inputs, ref_masks = self.first
        is_first = True
        if self.reference == 'previous' and self.previous is not None:
            prev_inputs, prev_masks = self.previous
            if prev_masks.any(axis=(1, 2)).all():
                ref_inputs, ref_masks = prev_inputs, prev_masks
                is_first = False
        h0, w0 = _meta(data_sample, 'ori_shape')[:2]
        pred = torch.zeros((self.num_objects, h0, w0), dtype=torch.bool)
        prompts, present = self._prompts(ref_masks)
        if prompts is not None:
            # the first frame's reference is encoded once per sequence
            tokens = None
            if is_first and hasattr(self.model, 'encode_refimg'):
                if self._first_tokens is None:
                    self._first_tokens = self.model.encode_refimg(
                        ref_inputs, prompts)
                tokens = self._first_tokens
            kwargs = {} if tokens is None else dict(ref_tokens=tokens)
            out = self.model.predict_refimg(ref_inputs, prompts, inputs,
                                            [data_sample], **kwargs)[0]
            pred[torch.as_tensor(present)] = out.pred_instances.masks.cpu()
        data_sample.pred_masks = pred
        if self.reference == 'previous':
            img_shape = tuple(_meta(data_sample, 'img_shape')[:2])
            self.previous = (inputs, _resize_masks(pred.numpy(), img_shape))
        return data_sample

    def _attach_gt(self, sample) -> None:
        path = _meta(sample, 'seg_map_path')
        if path is not None and 'gt_id_map' not in sample:
            sample.gt_id_map = read_davis_annotation(path)

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor, data_samples: Sequence):
        """Process a (preprocessed) batch of frames in order."""
        for i, sample in enumerate(data_samples):
            frame = inputs[i:i + 1]
            seq, idx = _meta(sample, 'seq_name'), _meta(sample, 'frame_idx')
            if idx is None:
                raise ValueError('video frames need frame_idx (and seq_name) '
                                 'in their metainfo: DAVISDataset sets them; '
                                 'add them to PackDetInputs meta_keys')
            if idx == 0:
                self.set_reference(frame, sample)
            elif self.first is None or seq != self.seq_name:
                if self.load_reference is None:
                    raise RuntimeError(
                        f'sequence {seq!r} entered at frame {idx} without '
                        'its first frame: iterate frames in order '
                        '(DefaultSampler shuffle=False) or give '
                        'load_reference')
                ref_inputs, ref_sample = self.load_reference(sample)
                self.set_reference(ref_inputs, ref_sample)
            if idx == 0:  # the given mask (DAVIS: first frame = GT)
                sample.pred_masks = torch.from_numpy(self._first_ori.copy())
            else:
                self.predict_frame(frame, sample)
            if self.load_gt:
                self._attach_gt(sample)
        return list(data_samples)


def _frame_sample(img: np.ndarray, scale: Optional[float], meta: dict):
    """BGR uint8 [H, W, 3] -> (uint8 CHW tensor, DetDataSample)."""
    from mmdet.structures import DetDataSample
    h0, w0 = img.shape[:2]
    if scale is not None and scale != 1:
        h, w = int(h0 * scale + 0.5), int(w0 * scale + 0.5)
        if min(h, w) < 1:
            raise ValueError(
                f'scale={scale} shrinks the {h0} x {w0} (H x W) frames to '
                f'{h} x {w} pixels; use a larger scale')
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    h, w = img.shape[:2]
    sample = DetDataSample(
        metainfo=dict(
            ori_shape=(h0, w0), img_shape=(h, w),
            scale_factor=(w / w0, h / h0), **meta))
    tensor = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return tensor, sample


def _read_frame(frame, idx: int) -> np.ndarray:
    """A frame as the predictor reads an image -> BGR uint8 [H, W, 3]."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f'frame {idx} is a {type(frame).__name__}; frames '
                        'must be arrays [H, W, 3] in BGR order')
    try:
        rgb = load_image(frame, image_format='BGR')
    except (TypeError, ValueError) as err:
        raise type(err)(f'frame {idx}: {err}') from None
    return np.ascontiguousarray(rgb[..., ::-1])


def _check_first_masks(masks, size: Tuple[int, int]) -> np.ndarray:
    """Binary [K, H, W] or id map [H, W] at ``size`` -> bool [K, H, W]."""
    masks = np.asarray(masks)
    if masks.ndim not in (2, 3):
        raise ValueError('first_masks must be binary masks [K, H, W] or an '
                         f'id map [H, W]; got shape {masks.shape}')
    if tuple(masks.shape[-2:]) != tuple(size):
        raise ValueError(
            f'first_masks have size {tuple(masks.shape[-2:])} (H, W) but '
            f'frame 0 has size {tuple(size)}; give the masks at the size of '
            'frame 0 (they are not stretched)')
    if masks.ndim == 2:
        if not (masks.dtype == bool or np.issubdtype(masks.dtype,
                                                      np.integer)):
            raise TypeError(f'an id map first_masks must be integers (0 '
                            f'background, k object k); got {masks.dtype}')
        valid = masks[masks != 255]
        masks = id_map_to_masks(masks, int(valid.max()) if valid.size else 0)
    elif masks.dtype != bool and not np.isin(masks, (0, 1)).all():
        raise ValueError(
            'first_masks [K, H, W] must be binary (bool or 0/1); got values '
            f'in [{masks.min()}, {masks.max()}]: threshold them first, e.g. '
            'masks > 0.5')
    masks = masks.astype(bool)
    if len(masks) == 0 or not masks.any(axis=(1, 2)).any():
        raise ValueError('first_masks mark no object: give at least one '
                         'non-empty mask of frame 0')
    return masks


@torch.no_grad()
def propagate_video(model,
                    frames: Sequence[np.ndarray],
                    first_masks: np.ndarray,
                    reference: str = 'first',
                    scale: Optional[float] = None,
                    seq_name: str = 'video') -> List[torch.Tensor]:
    """Segment ``frames`` given the first frame's object masks.

    Args:
        model: SEEM with its ``data_preprocessor``.
        frames: images in **BGR** order (as ``mmcv.imread`` gives), each
            read like the predictor's images (:func:`mmseem.apis.load_image`
            with ``image_format='BGR'``): uint8 ``[H, W, 3]``, gray
            ``[H, W]``, float in ``[0, 1]`` (scaled to ``[0, 255]``), ...;
            frames need not share one size.
        first_masks: binary [K, H, W] of frame 0 (bool or 0/1), or an
            integer id map [H, W] (0 background, k = object k, 255 void), at
            the size of frame 0 (another size is an error, not a stretch).
        reference (str): ``'first'`` or ``'previous'`` (module doc).
        scale (float, optional): resize frames by this factor for the model
            (predictions are returned at the original size).

    Returns:
        list of bool [K, H, W] per frame (frame 0 = ``first_masks``).
    """
    if isinstance(frames, np.ndarray) and frames.ndim != 4:
        raise ValueError(
            f'frames is one array of shape {frames.shape}; give a list of '
            'frames or an array [T, H, W, C] (a gray stack [T, H, W]: '
            'list(frames))')
    if isinstance(frames, (str, bytes)) or not hasattr(frames, '__len__'):
        raise TypeError('frames must be a list of images (arrays [H, W, 3] '
                        f'in BGR order); got {type(frames).__name__}')
    if len(frames) == 0:
        raise ValueError('frames is empty: give at least the first frame')
    if scale is not None and not (isinstance(scale, (int, float)) and
                                  np.isfinite(scale) and scale > 0):
        raise ValueError(f'scale must be a positive number; got {scale!r}')
    first = _read_frame(frames[0], 0)
    first_masks = _check_first_masks(first_masks, first.shape[:2])
    prop = VideoPropagator(model, reference=reference, load_gt=False)
    num_frames, outputs = len(frames), []
    for idx in range(num_frames):
        img = first if idx == 0 else _read_frame(frames[idx], idx)
        tensor, sample = _frame_sample(
            img, scale, dict(seq_name=seq_name, frame_idx=idx,
                             num_frames=num_frames))
        data = model.data_preprocessor(
            dict(inputs=[tensor], data_samples=[sample]), False)
        inputs, samples = data['inputs'], data['data_samples']
        if idx == 0:
            prop.set_reference(inputs, samples[0], masks=first_masks)
            samples[0].pred_masks = torch.from_numpy(first_masks.astype(bool))
        else:
            prop.predict_frame(inputs, samples[0])
        outputs.append(samples[0].pred_masks)
    return outputs
