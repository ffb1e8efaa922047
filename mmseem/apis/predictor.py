"""Interactive SEEM on one image: features once, prompts many times.

SEEM-specific, not in mmdet/mmseg (the counterpart of SAM's
``SamPredictor``): :meth:`SEEMPredictor.set_image` runs the image pipeline
and the data preprocessor and :meth:`SEEM.extract_feat` **once**; every
:meth:`SEEMPredictor.predict` round then runs only SEEM's decoder on the
cached ``mask_features`` / ``multi_scale_features``
(:meth:`SEEM.predict_prompts`), as the official demo does between clicks.

Images are ``uint8`` RGB ``[H, W, 3]`` arrays, files or PIL images (see
:func:`mmseem.apis.load_image`); prompts are in pixels of that original
image, ``(x, y)`` order (see :class:`mmseem.structures.VisualPrompts`).

Outputs and their memory (documented decision): ``masks`` are ``bool``
``[P, H, W]`` at the original image size (1 byte a pixel a prompt: 100 MB
a prompt on a 10000 x 10000 photo); ``logits`` are float32 ``[P, h, w]`` at
the model's resolution :attr:`SEEMPredictor.model_size` (the resized image
the model saw, e.g. 512 x 512: 1 MB a prompt whatever the photo's
size). The masks are thresholded from the logits in bands of rows
(:func:`mmseem.apis.mask_resize.resize_threshold`), so no full-size float
logits are ever held; they equal SEEM's own full-size post-processing up to
float rounding. To get full-size probabilities of one prompt, resize its
logits yourself (``cv2.resize(out['logits'][i], (W, H))``, bilinear).

Memory prompts: SEEM feeds the previous round's mask of each prompt back to
the decoder (``prev_mask``). The predictor keeps the last round's
``pred_instances.prev_mask`` and passes it with the next :meth:`predict`
when ``use_memory=True`` and the number of prompts is unchanged (a new
object set starts fresh); :meth:`reset` forgets it.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config

from mmseem.structures import VisualPrompts
from .image_io import ImageLike, load_image
from .input_checks import check_text
from .mask_resize import resize_threshold
from .model_init import init_model
from .pipeline import build_inference_pipeline
from .predictor_inputs import (check_ref_prompts, collect_prompt_args,
                               merge_ready_prompts)

__all__ = ['SEEMPredictor']


class SEEMPredictor:
    """Prompt a SEEM model repeatedly on one image.

    Args:
        model (SEEM): a built SEEM segmentor (``mmseg.apis.init_model`` or
            ``MODELS.build``); put in eval mode here.
        test_pipeline (list[dict], optional): image transforms (resize) of the
            inference pipeline; defaults to ``model.cfg.test_pipeline`` when
            the model has a config, else the official demo resize (shortest
            side 512); see :func:`build_inference_pipeline`.

    Example::

        predictor = SEEMPredictor.from_config(cfg, ckpt, device='cpu')
        predictor.set_image('dog.jpg')
        out = predictor.predict(points=[[[120, 80]]], point_labels=[[1]])
        out = predictor.predict(points=[[[120, 80], [40, 30]]],
                                point_labels=[[1, 0]])  # + memory
        out['masks']  # [P, H, W] bool, original size
        out['logits']  # [P, h, w] float32, predictor.model_size
    """

    def __init__(self, model, test_pipeline: Optional[Sequence[dict]] = None):
        for name in ('extract_feat', 'predict_prompts', 'data_preprocessor'):
            if not hasattr(model, name):
                raise TypeError(
                    f'SEEMPredictor needs a SEEM segmentor (with {name}); got '
                    f'{type(model).__name__}')
        self.model = model.eval()
        if test_pipeline is None:
            cfg = getattr(model, 'cfg', None)
            test_pipeline = cfg.get('test_pipeline') if cfg else None
        self.pipeline = build_inference_pipeline(test_pipeline)
        self.reset_image()

    @classmethod
    def from_config(cls,
                    config: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu',
                    cfg_options: Optional[dict] = None) -> 'SEEMPredictor':
        """Build the model with :func:`mmseem.apis.init_model` (like
        ``mmseg.apis.init_model``, also for plain state dicts; sets
        ``dataset_meta``, the default vocabulary, from the checkpoint)."""
        model = init_model(config, checkpoint, device=device,
                           cfg_options=cfg_options)
        return cls(model)

    # ------------------------------------------------------------------
    # state
    # ------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def is_image_set(self) -> bool:
        return self._feats is not None

    @property
    def original_size(self):
        """``(H, W)`` of the image given to :meth:`set_image`."""
        self._require_image()
        return self._original_size

    @property
    def model_size(self):
        """``(h, w)`` of the resized image the model saw (the size of the
        returned ``logits``)."""
        self._require_image()
        return tuple(int(v) for v in self._sample.metainfo['img_shape'][:2])

    def reset_image(self) -> None:
        """Forget the image, its features and the memory."""
        self._feats = None
        self._generator = None
        self._inputs = None
        self._sample = None
        self._original_size = None
        self.reset()

    def reset(self) -> None:
        """Start a new object set: forget the previous round's masks (the
        memory prompts) and restart the session's random stream (seeded
        once per session; rounds with memory continue it)."""
        self._prev_mask = None
        if getattr(self, '_feats', None) is not None and \
                hasattr(self.model, 'session_generator'):
            self._generator = self.model.session_generator(self.device)

    def _require_image(self) -> None:
        if self._feats is None:
            raise RuntimeError('no image set: call predictor.set_image(image) '
                               'before predicting')

    # ------------------------------------------------------------------
    # image and features
    # ------------------------------------------------------------------
    def _prepare(self, image: ImageLike, image_format: str):
        """Image -> (batched inputs [1, 3, Hp, Wp], data sample, (H, W))."""
        rgb = load_image(image, image_format)
        path = str(image) if isinstance(image, str) else None
        packed = self.pipeline(rgb[..., ::-1].copy(), img_path=path)
        data = self.model.data_preprocessor(
            dict(inputs=[packed['inputs']],
                 data_samples=[packed['data_samples']]), False)
        return data['inputs'], data['data_samples'][0], rgb.shape[:2]

    @torch.no_grad()
    def set_image(self, image: ImageLike, image_format: str = 'RGB') -> None:
        """Preprocess ``image`` and compute its features once.

        Args:
            image: path, PIL image or array (see :func:`load_image`).
            image_format (str): channel order of an array, ``'RGB'``
                (default) or ``'BGR'``.
        """
        inputs, sample, size = self._prepare(image, image_format)
        self.reset_image()
        self._feats = self.model.extract_feat(inputs, prepare=True)
        # one random stream per image session, seeded once (official)
        self._generator = self.model.session_generator(inputs.device) \
            if hasattr(self.model, 'session_generator') else None
        self._inputs = inputs
        self._sample = sample
        self._original_size = tuple(int(v) for v in size)

    def _new_sample(self, full_size: bool = True):
        """A fresh data sample with the image's metainfo only; with
        ``full_size=False`` its ``ori_shape`` is the model's size, so that
        SEEM returns logits at the model's resolution."""
        sample = self._sample.__class__(metainfo=self._sample.metainfo)
        if not full_size:
            sample.set_metainfo(dict(ori_shape=self.model_size))
        return sample

    # ------------------------------------------------------------------
    # vocabulary
    # ------------------------------------------------------------------
    def set_vocabulary(self,
                       thing_classes: Union[str, Sequence[str], dict],
                       stuff_classes: Union[str, Sequence[str]] = ()) -> None:
        """Class names for the semantic labels of the predicted masks
        (no need to set the image again: features do not depend on it); a
        ``str`` is one class (:func:`mmseem.utils.vocabulary.
        parse_vocabulary`)."""
        self.model.set_vocabulary(thing_classes, stuff_classes)

    def _class_names(self) -> Optional[List[str]]:
        try:
            things, stuff = self.model.get_vocabulary()
        except ValueError:
            return None
        return list(things) + list(stuff)

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------
    def _to_output(self, res, texts=None) -> Dict:
        """``pred_instances`` -> dict; with ``mask_logits`` (at the model's
        size) the masks are thresholded at the original size here."""
        names = self._class_names()
        labels = res.labels.cpu().numpy().astype(np.int64)
        if 'mask_logits' in res:
            masks = resize_threshold(res.mask_logits, self._original_size,
                                     self.model.test_cfg['mask_threshold'])
        else:
            masks = res.masks.cpu().numpy().astype(bool)
        out = dict(
            masks=masks,
            scores=res.scores.float().cpu().numpy(),
            labels=labels,
            label_names=[
                names[i] if names is not None and 0 <= i < len(names) else
                None for i in labels.tolist()
            ])
        if 'mask_logits' in res:
            out['logits'] = res.mask_logits.float().cpu().numpy()
        if texts is not None:
            out['texts'] = list(texts)
        return out

    def build_prompts(self, **kwargs) -> VisualPrompts:
        """:class:`VisualPrompts` of the current image (original pixels)
        from ``points``/``point_labels``/``boxes``/``scribbles``/
        ``polygons``/``masks`` and the options of
        :meth:`VisualPrompts.build`."""
        self._require_image()
        return VisualPrompts.build(self._original_size, **kwargs)

    @torch.no_grad()
    def predict(self,
                points=None,
                point_labels=None,
                boxes=None,
                scribbles=None,
                polygons=None,
                masks=None,
                text: Union[str, Sequence[str], None] = None,
                prompts: Optional[VisualPrompts] = None,
                use_memory: bool = True,
                **prompt_options) -> Dict:
        """One interactive round on the cached features.

        Args:
            points, point_labels, boxes, scribbles, polygons, masks: visual
                prompts, one per object, in original-image pixels (layouts of
                :meth:`VisualPrompts.build`, e.g. ``points`` ``[P, N, 2]``
                xy with ``point_labels`` ``[P, N]`` 1/0, ``boxes`` ``[P, 4]``
                xyxy, ``masks`` ``[P, H, W]``).
            text (str | list[str], optional): text that composes with the
                visual prompts.
            prompts (VisualPrompts, optional): ready-made prompts of this
                image instead of (or merged per prompt with) the above.
            use_memory (bool): pass the previous round's masks as memory
                prompts when the number of prompts is unchanged.
            **prompt_options: ``radius``, ``click_shape``, ``thickness``,
                ``clip``, ``resize_masks``, ``allow_negative_only`` of
                :meth:`VisualPrompts.build`.

        Returns:
            dict: ``masks`` ``[P, H, W]`` bool, ``scores`` ``[P]``,
            ``labels`` ``[P]`` (index into the vocabulary, ``-1`` without
            one), ``label_names`` (``None`` without a vocabulary), ``logits``
            ``[P, h, w]`` float32 mask logits at :attr:`model_size` (see the
            module docstring for the memory).
        """
        self._require_image()
        given = collect_prompt_args(
            prompt_options, points=points, point_labels=point_labels,
            boxes=boxes, scribbles=scribbles, polygons=polygons, masks=masks)
        text = check_text(text, 'text')
        vp = None
        if given:
            vp = self.build_prompts(**given, **prompt_options)
        vp = merge_ready_prompts(vp, prompts, self._original_size)
        sample = self._new_sample(full_size=False)
        sample.visual_prompts = vp
        if text is not None:
            sample.text = text
        prev = self._prev_mask
        if use_memory and prev is not None and len(prev) == len(vp):
            sample.prev_mask = prev
        res = self.model.predict_prompts(
            self._feats, [sample], **({} if self._generator is None else
                                       dict(generator=self._generator)))[0]
        res = res.pred_instances
        self._prev_mask = res.prev_mask
        return self._to_output(res)

    @torch.no_grad()
    def predict_text(self, text: Union[str, Sequence[str]]) -> Dict:
        """Referring segmentation on the cached features: one mask per
        sentence (:meth:`SEEM.predict_referring`). Returns the dict of
        :meth:`predict` with ``texts`` (without ``logits``); ``labels`` are
        0."""
        self._require_image()
        if text is None:
            raise TypeError("predict_text needs text, e.g. "
                            "predictor.predict_text('the dog on the left')")
        texts = check_text(text, 'text')
        sample = self._new_sample()
        sample.text = texts
        res = self.model.predict_referring(self._feats, [sample])[0]
        out = self._to_output(res.pred_instances, texts)
        out['label_names'] = list(texts)
        return out

    @torch.no_grad()
    def predict_reference(self,
                          ref_image: ImageLike,
                          ref_prompts: Union[VisualPrompts, dict],
                          image_format: str = 'RGB') -> Dict:
        """Visual referring: segment in the current image what
        ``ref_prompts`` mark in ``ref_image`` (:meth:`SEEM.predict_refimg`).

        Args:
            ref_image: the reference image (path / array / PIL).
            ref_prompts (VisualPrompts | dict): prompts in the reference
                image's original pixels, one per target object; a dict is
                passed to :meth:`VisualPrompts.build` (e.g.
                ``dict(points=[[[x, y]]])``).
            image_format (str): channel order of an array ``ref_image``.

        Returns:
            dict of :meth:`predict`, one mask per reference prompt (without
            ``logits``).
        """
        self._require_image()
        ref_inputs, ref_sample, ref_size = self._prepare(
            ref_image, image_format)
        ref_prompts = check_ref_prompts(ref_prompts, ref_size)
        h, w = ref_sample.metainfo['img_shape'][:2]
        scaled = ref_prompts.rescale((w / ref_size[1], h / ref_size[0]),
                                     new_size=(h, w))
        sample = self._new_sample()
        res = self.model.predict_refimg(
            ref_inputs, scaled, self._inputs, [sample],
            feats=self._feats)[0]
        return self._to_output(res.pred_instances)

    @torch.no_grad()
    def predict_batch(self, prompts: Union[VisualPrompts, dict],
                      prev_masks: Optional[Sequence[torch.Tensor]] = None,
                      batch_size: Optional[int] = None,
                      mode: str = 'auto') -> Dict:
        """Each prompt of ``prompts`` (a :class:`VisualPrompts` or
        :meth:`build_prompts` arguments) as an independent object, exactly as
        alone in a :meth:`predict` round (no shared point budget or memory;
        equal up to float rounding), ``batch_size`` of them (default all)
        per decoder call; ``mode``: ``'auto'``, ``'joint'``, ``'batch'``
        (:mod:`mmseem.apis.batched_prompts`). ``prev_masks``: per prompt its
        previous ``prev_mask`` (memory). Returns :meth:`predict`'s dict plus
        ``prev_mask`` (P x [1, h, w]); the predictor's memory is untouched.
        """
        from .batched_prompts import BatchedPromptRunner
        self._require_image()
        if isinstance(prompts, dict):
            prompts = self.build_prompts(**prompts)
        runner = getattr(self, '_batch_runner', None)
        if runner is None or runner.feats is not self._feats:
            runner = BatchedPromptRunner(self.model, self._feats,
                                         self._new_sample(full_size=False))
            self._batch_runner = runner
        res = runner.run_all(prompts, prev_masks, batch_size, mode,
                             image_size=self._original_size)
        out = self._to_output(res)
        out['prev_mask'] = [m[None] for m in res.prev_mask]
        return out
