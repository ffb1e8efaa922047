"""Interactive (click) evaluation of SEEM on cached image features.

SEEM-specific, not in mmdet/mmseg: OpenMMLab has no click benchmark. This
module plays the user of :func:`mmseem.evaluation.functional.
run_interactive_session` against a SEEM model (evaluation code: it only
calls the model's public ``predict_prompts``): the image features are
computed once (``model.extract_feat``), then every click round only runs the
decoder through ``model.predict_prompts`` with

* the clicks so far as :class:`~mmseem.structures.VisualPrompts` (one prompt
  per object; a click at pixel ``(y, x)`` is the point ``(x + .5, y + .5)``
  drawn as a ``(2 * click_radius + 1)`` square -- ``click_radius=1`` is
  SEEM's ``3 x 3`` dilation, ``STROKE_SAMPLER.DILATION: 3``), and
* the memory prompt: the previous round's ``pred_instances.prev_mask`` is
  passed back as ``prev_mask`` (official ``evaluate_interactive`` does
  ``extra.update(outputs)`` so the next round sees ``outputs['prev_mask']``).

The per-object IoU after each click is stored as
``data_sample.interactive_ious`` (float [num_objects, max_clicks]) for
:class:`mmseem.evaluation.metrics.InteractiveMetric`.

Resolution (a documented deviation): the GT objects, the simulated clicks and
the IoU all live on the grid of ``gt_instances.masks`` -- the original image
when the test pipeline loads annotations after ``Resize`` (mmdet's usual test
pipeline), where ``predict_prompts`` returns its masks (``ori_shape``); the
clicks are rescaled to the network input (``img_shape``) by
``predict_prompts``. The official code places clicks on the resized image and
reports IoU at the original size; both grids coincide when no resize is done.
"""
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from mmseem.evaluation.functional.click_protocols import (
    PROB_THR, PROTOCOLS, run_interactive_session)
from mmseem.structures.visual_prompts import VisualPrompts

__all__ = ['run_interactive_evaluation', 'gt_object_masks',
           'ignored_region', 'DEFAULT_GROUP_SIZE']

#: Objects prompted jointly per session. SEEM: at most 5 objects of an image
#: form one session (``register_pascalvoc_eval.py`` groups them by 5);
#: standard (RITM): every object is its own session.
DEFAULT_GROUP_SIZE = {'seem': 5, 'standard': 1}

_META_KEYS = ('img_shape', 'ori_shape', 'pad_shape', 'scale_factor',
              'batch_input_shape')


def gt_object_masks(data_sample) -> np.ndarray:
    """GT objects of a data sample as bool [N, H, W].

    Reads ``data_sample.gt_instances.masks`` (mmdet ``BitmapMasks`` /
    ``PolygonMasks`` from ``PackDetInputs``, or a tensor / array).
    """
    gt = getattr(data_sample, 'gt_instances', None)
    masks = None if gt is None else gt.get('masks', None)
    if masks is None:
        raise ValueError(
            'interactive evaluation needs GT object masks in '
            'data_sample.gt_instances.masks: add mmdet.LoadAnnotations('
            "with_mask=True) (or LoadPanopticAnnotations) and "
            'mmdet.PackDetInputs to the test pipeline')
    if hasattr(masks, 'to_ndarray'):  # BitmapMasks / PolygonMasks
        masks = masks.to_ndarray()
    elif isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f'gt_instances.masks must be [N, H, W], got shape '
                         f'{masks.shape}')
    return masks.astype(bool)


def ignored_region(data_sample) -> Optional[np.ndarray]:
    """Union of ``data_sample.ignored_instances.masks`` as bool [H, W].

    mmdet's ``PackDetInputs`` puts instances with ``ignore_flag=1`` there;
    the click-benchmark datasets (:mod:`mmseem.datasets.interactive_seg`)
    store their ignore region (GrabCut / Berkeley 128 band, VOC void) as such
    an instance. None when the sample has no ignored masks.
    """
    ignored = getattr(data_sample, 'ignored_instances', None)
    masks = None if ignored is None else ignored.get('masks', None)
    if masks is None or len(masks) == 0:
        return None
    if hasattr(masks, 'to_ndarray'):
        masks = masks.to_ndarray()
    elif isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    return np.asarray(masks).astype(bool).any(axis=0)


def _single_image_feats(feats: Dict, batch_idx: Optional[int]) -> Dict:
    """Slice the cached features of one image out of a batch."""
    bs = feats['mask_features'].shape[0]
    if batch_idx is None:
        if bs != 1:
            raise ValueError(f'feats hold a batch of {bs} images: pass '
                             'batch_idx (the index of data_sample in it)')
        batch_idx = 0
    if not 0 <= batch_idx < bs:
        raise ValueError(f'batch_idx={batch_idx} out of range for a batch '
                         f'of {bs}')
    sl = slice(batch_idx, batch_idx + 1)
    return dict(
        mask_features=feats['mask_features'][sl],
        multi_scale_features=[f[sl] for f in feats['multi_scale_features']],
        input_shape=feats['input_shape'])


def _work_sample(data_sample):
    """A bare copy of the sample's geometry (no GT, no text, no prompts)."""
    meta = {
        k: data_sample.metainfo[k]
        for k in _META_KEYS if k in data_sample.metainfo
    }
    return type(data_sample)(metainfo=meta)


def _make_predict_fn(model, feats: Dict, data_sample, size,
                     click_radius: int, prob_thr: Optional[float]) -> Callable:
    """``predict_fn(clicks_so_far, prev_masks) -> masks`` [N, H, W] that
    queries ``model.predict_prompts`` with the clicks and SEEM's memory.

    With ``prob_thr`` None the masks are the model's own (``logits >
    test_cfg.mask_threshold``, SEEM's protocol); with a ``prob_thr`` they
    are ``sigmoid(mask_logits) > prob_thr`` (the standard protocol's 0.49),
    or the model's masks when it returns no ``mask_logits``."""
    state = dict(prev_mask=None)
    h, w = size

    def predict_fn(clicks_per_object, prev_masks):
        points, labels = [], []
        for clicks in clicks_per_object:
            if not clicks:  # never happens: both protocols click every
                raise RuntimeError('an object has no click')  # first round
            points.append(
                np.array([[c.x + 0.5, c.y + 0.5] for c in clicks],
                         dtype=np.float64))
            labels.append(np.array([int(c.is_positive) for c in clicks]))
        sample = _work_sample(data_sample)
        sample.visual_prompts = VisualPrompts.from_points(
            points, labels, image_size=(h, w), radius=click_radius,
            allow_negative_only=True)
        if state['prev_mask'] is not None:
            sample.prev_mask = state['prev_mask']
        sample = model.predict_prompts(feats, [sample])[0]
        res = sample.pred_instances
        state['prev_mask'] = res.get('prev_mask', None)
        masks, logits = res.masks, res.get('mask_logits', None)
        if tuple(masks.shape[-2:]) != (h, w):
            # GT loaded at another size than ori_shape (e.g. annotations
            # loaded before Resize): bring the logits to the GT grid
            src = masks.float() if logits is None else logits.float()
            src = F.interpolate(
                src[None], size=(h, w), mode='bilinear',
                align_corners=False)[0]
            if logits is None:
                masks = src > 0.5
            else:
                masks = src > model.test_cfg.get('mask_threshold', 0.0)
                logits = src
        if prob_thr is not None and logits is not None:
            masks = logits.float().sigmoid() > prob_thr
        return masks

    return predict_fn


@torch.no_grad()
def run_interactive_evaluation(model,
                               feats: Dict,
                               data_sample,
                               protocol: str = 'seem',
                               max_clicks: int = 20,
                               batch_idx: Optional[int] = None,
                               group_size: Optional[int] = None,
                               click_radius: int = 1,
                               ignore_mask=None,
                               iou_key: str = 'interactive_ious',
                               stop_iou: Optional[float] = None):
    """Simulate a click session on one image and store IoU per click.

    Args:
        model: a SEEM-like model with ``predict_prompts(feats, samples)``
            setting ``pred_instances.masks`` (bool [P, H0, W0] at
            ``ori_shape``) and optionally ``prev_mask`` (memory logits).
        feats (dict): ``model.extract_feat(inputs)`` of the batch.
        data_sample: ``DetDataSample`` with ``gt_instances.masks`` and the
            metainfo ``img_shape`` / ``ori_shape``.
        protocol (str): ``'seem'`` (SEEM's joint protocol) or
            ``'standard'`` (RITM NoC); see
            :mod:`mmseem.evaluation.functional.click_protocols`.
        max_clicks (int): clicks per object (20 in both protocols).
        batch_idx (int, optional): index of ``data_sample`` in the batch of
            ``feats``; needed when the batch holds several images.
        group_size (int, optional): objects prompted jointly in one session;
            default 5 for ``'seem'``, 1 for ``'standard'``.
        click_radius (int): click footprint fed to the model (1 = SEEM's 3x3
            square, for both protocols since it is the model's input
            convention; the protocols themselves decide only where clicks
            go).
        ignore_mask: optional bool [H, W] excluded from the IoU (and from
            the standard protocol's click error regions), or
            ``'ignored_instances'`` to take :func:`ignored_region` of the
            sample (nothing is excluded when it has none).
        iou_key (str): where to store the IoUs.
        stop_iou (float, optional): standard protocol only: stop an object
            once its IoU is ``>= stop_iou``. Default None: click on to
            ``max_clicks`` as RITM / SimpleClick do for mIoU@k (NoC does not
            change; a stopped session's mIoU@k would carry IoUs forward).

    Masks: SEEM's protocol uses the model's masks (``logits >
    test_cfg.mask_threshold``, 0 = ``sigmoid > 0.5``); the standard protocol
    thresholds ``sigmoid(mask_logits) > 0.49`` as RITM / SimpleClick do.

    Returns:
        The data sample, with ``iou_key`` = float32 [num_objects,
        max_clicks] in [0, 1] and ``interactive_num_clicks`` int [N].
        Objects with an empty mask are skipped (an image without objects
        gets a [0, max_clicks] array).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got '
                         f'{protocol!r}')
    if not isinstance(max_clicks, int) or max_clicks < 1:
        raise ValueError(f'max_clicks must be a positive int, got '
                         f'{max_clicks!r}')
    if group_size is None:
        group_size = DEFAULT_GROUP_SIZE[protocol]
    if not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f'group_size must be a positive int, got '
                         f'{group_size!r}')
    if not hasattr(model, 'predict_prompts'):
        raise TypeError(f'{type(model).__name__} has no predict_prompts: '
                        'interactive evaluation needs a promptable (SEEM) '
                        'model')
    switch = getattr(getattr(model, 'predictor', None), 'task_switch', {})
    if not switch.get('spatial', True):
        raise TypeError(
            f'{type(model).__name__} was built without spatial (visual '
            'prompt) queries (predictor spatial=False, e.g. X-Decoder): it '
            'cannot be evaluated interactively')
    if isinstance(ignore_mask, str):
        if ignore_mask != 'ignored_instances':
            raise ValueError(
                "ignore_mask (SEEM's test_cfg.ignore_regions) must be an "
                f"array, None or 'ignored_instances', got {ignore_mask!r}")
        ignore_mask = ignored_region(data_sample)
    gt = gt_object_masks(data_sample)
    gt = gt[gt.any(axis=(1, 2))]  # drop empty objects
    size = tuple(gt.shape[-2:])
    meta = data_sample.metainfo
    known = {tuple(meta[k][:2]) for k in ('ori_shape', 'img_shape')
             if k in meta}
    if known and size not in known:
        raise ValueError(
            f'GT masks have size {size} but the sample has ori_shape '
            f"{meta.get('ori_shape')} / img_shape {meta.get('img_shape')}: "
            'load the annotations at one of those sizes')
    single = _single_image_feats(feats, batch_idx)

    ious: List[np.ndarray] = []
    num_clicks: List[np.ndarray] = []
    for start in range(0, len(gt), group_size):
        group = gt[start:start + group_size]
        predict_fn = _make_predict_fn(
            model, single, data_sample, size, click_radius,
            PROB_THR['standard'] if protocol == 'standard' else None)
        out = run_interactive_session(
            predict_fn, group, protocol=protocol, max_clicks=max_clicks,
            ignore_mask=ignore_mask, stop_iou=stop_iou)
        ious.append(out['ious'])
        num_clicks.append(out['num_clicks'])
    data_sample.set_field(
        np.concatenate(ious).astype(np.float32) if ious else np.zeros(
            (0, max_clicks), np.float32), iou_key)
    data_sample.set_field(
        np.concatenate(num_clicks) if num_clicks else np.zeros(0, np.int64),
        'interactive_num_clicks')
    return data_sample
