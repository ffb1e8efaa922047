"""SEEM: one promptable model for every segmentation task.

SEEM-specific (the official ``GeneralizedSEEM``), written on MMEngine's
``BaseModel``: ``loss`` / ``predict`` / ``_forward`` with a data preprocessor,
and results as data samples that mmdet/mmseg evaluators and visualizers read.

Data flow::

    inputs [B, 3, H, W] -> backbone -> {res2..res5}
        -> sem_seg_head.pixel_decoder -> mask_features [B, C, H/4, W/4],
                                          multi_scale_features (3 levels)
        -> sem_seg_head.predictor (+ prompts) -> pred_logits / masks / ...
        -> task post-processing -> data samples

Tasks (``test_cfg.task``, or per call through the data samples):

* ``'panoptic'`` (also gives ``pred_sem_seg`` and ``pred_instances`` as
  ``semantic_on`` / ``instance_on`` say), ``'semantic'``, ``'instance'``:
  open vocabulary; the vocabulary is ``dataset_meta`` (``thing_classes`` +
  ``stuff_classes``, or ``classes``) or what :meth:`set_vocabulary` set.
* ``'referring'``: a data sample with ``text`` (a sentence or a list) gets
  one mask per sentence in ``pred_instances`` (the grounding query best
  matching the sentence).
* ``'interactive'``: a data sample with ``visual_prompts``
  (:class:`mmseem.structures.VisualPrompts`, in original-image pixels) gets
  one mask per prompt, its semantic label and score; ``prev_mask`` from the
  previous round's ``pred_instances.prev_mask`` turns on the memory prompts.
  Text in the same sample composes with the visual prompts.
* ``'refimg'``: visual referring; see :meth:`predict_refimg`.

The interactive path keeps image features: :meth:`extract_feat` once, then
:meth:`predict_prompts` per round (only the decoder runs).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.seg_heads.panoptic_fusion_heads import MaskFormerFusionHead
from mmdet.structures.mask import mask2bbox
from mmengine.model import BaseModel
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from mmseem.registry import MODELS
from mmseem.utils.checkpoint_fit import register_checkpoint_fit_check
from mmseem.utils.cfg_keys import (SEEM_TEST_CFG_KEYS, SEEM_TRAIN_CFG_KEYS,
                                   check_cfg_keys)
from mmseem.utils.vocabulary import VOCABULARY_KEYS, parse_vocabulary

TASKS = ('panoptic', 'semantic', 'instance', 'referring', 'interactive',
         'interactive_eval')

DEFAULT_TEST_CFG = dict(
    task='panoptic',
    semantic_on=True,
    instance_on=True,
    panoptic_on=True,
    object_mask_threshold=0.8,
    overlap_threshold=0.8,
    max_per_image=100,
    mask_threshold=0.0,  # logits > 0 <=> sigmoid > 0.5
    seed=0)


@MODELS.register_module()
class SEEM(BaseModel):
    """SEEM segmentor.

    Args:
        backbone (dict): ``FocalNet`` or ``BackboneWrapper`` config giving
            ``res2..res5``.
        sem_seg_head (dict): ``SEEMHead`` config (pixel decoder + predictor).
        data_preprocessor (dict, optional): e.g. ``mmdet.DetDataPreprocessor``
            (normalise, BGR->RGB, pad to a multiple of 32).
        train_cfg (dict, optional): training settings; ``criterion`` is the
            ``SEEMLoss`` config used by :meth:`loss`.
        test_cfg (dict, optional): overrides of ``DEFAULT_TEST_CFG``:
            ``task``, ``semantic_on``/``instance_on``/``panoptic_on``,
            ``object_mask_threshold`` (0.8) and ``overlap_threshold`` (0.8) of
            the official panoptic merging, ``max_per_image`` (100), ``seed``
            of the point / query sampling (reproducible inference; ``None``
            uses the global RNG), ``vocabulary`` (``thing_classes`` /
            ``stuff_classes`` lists, else ``dataset_meta`` is used),
            ``ignore_regions`` (``'ignored_instances'``: the data sample's
            ignored instances, e.g. GrabCut's boundary band or VOC's void
            border, are left out of the interactive IoU; default None).
        init_cfg (dict, optional): initialisation config.
        pretrained (None): accepted (must be None) because
            ``mmseg.apis.init_model`` sets ``model.pretrained = None``.
        frozen_modules (Sequence[str]): official ``SOLVER.FIX_PARAM``: every
            parameter whose name contains one of these strings gets
            ``requires_grad=False`` (no gradient is computed through a frozen
            prefix such as the backbone). SEEM's recipe freezes
            ``('backbone', 'pixel_decoder', 'lang_encoder')``. A key that
            matches no parameter is an error (a typo would silently train
            everything).

    Attribute names are official (``backbone``, ``sem_seg_head``, the
    persistent ``dilation_kernel`` buffer), so released checkpoints map
    key-for-key (``tools/model_converters/seem2mmseem.py``).
    """

    def __init__(self,
                 backbone: dict,
                 sem_seg_head: dict,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 frozen_modules: Sequence[str] = ()):
        if pretrained is not None:
            raise ValueError(
                '`pretrained` is not used by SEEM: load converted weights '
                'with `load_from` / a checkpoint, or set the backbone\'s '
                '`init_cfg`.')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.sem_seg_head = MODELS.build(sem_seg_head)
        # official persistent buffer: the 3x3 kernel that dilates clicks
        self.register_buffer('dilation_kernel', torch.ones(1, 1, 3, 3))
        check_cfg_keys(train_cfg, SEEM_TRAIN_CFG_KEYS, 'model.train_cfg')
        check_cfg_keys(test_cfg, SEEM_TEST_CFG_KEYS, 'model.test_cfg')
        self.train_cfg = dict(train_cfg or {})
        # SEEM's losses (matching, prompt simulation rounds, deep
        # supervision) live in one registered module; see SEEMLoss.
        criterion = self.train_cfg.pop('criterion', None)
        self.criterion = MODELS.build(criterion) if criterion else None
        cfg = dict(DEFAULT_TEST_CFG)
        cfg.update(test_cfg or {})
        if cfg['task'] not in TASKS:
            raise ValueError(f"test_cfg.task={cfg['task']!r} is unknown; "
                             f'choose one of {TASKS}')
        self.test_cfg = cfg
        self._vocabulary: Optional[Tuple[List[str], List[str]]] = None
        vocab = cfg.get('vocabulary')
        if vocab:
            self.set_vocabulary(vocab)
        if isinstance(frozen_modules, str):
            frozen_modules = (frozen_modules, )
        self.frozen_modules = tuple(frozen_modules)
        self.freeze(self.frozen_modules)
        register_checkpoint_fit_check(self)  # a foreign checkpoint: error

    def freeze(self, keys: Sequence[str]) -> int:
        """``requires_grad=False`` for every parameter whose name contains
        one of ``keys`` (official ``FIX_PARAM`` substring semantics).

        Returns the number of frozen parameter elements.
        """
        frozen = 0
        names = [n for n, _ in self.named_parameters()]
        for key in keys:
            if not isinstance(key, str) or not key:
                raise ValueError(f'frozen_modules entries must be non-empty '
                                 f'strings; got {key!r}')
            if not any(key in n for n in names):
                raise ValueError(
                    f'frozen_modules entry {key!r} matches no parameter of '
                    f'SEEM; parameter names look like {names[:2]} (use e.g. '
                    "'backbone', 'pixel_decoder', 'lang_encoder')")
        for name, param in self.named_parameters():
            if any(key in name for key in keys):
                param.requires_grad_(False)
                frozen += param.numel()
        return frozen

    # ------------------------------------------------------------------
    # vocabulary
    # ------------------------------------------------------------------
    @property
    def predictor(self):
        return self.sem_seg_head.predictor

    @property
    def lang_encoder(self):
        return self.sem_seg_head.predictor.lang_encoder

    def set_vocabulary(self,
                       thing_classes: Union[str, Sequence[str], dict],
                       stuff_classes: Union[str, Sequence[str]] = ()) -> None:
        """Set the open vocabulary: things first, then stuff (the label of
        class ``i`` is its index in ``thing_classes + stuff_classes``); a
        ``str`` is one class, a dict has ``thing_classes`` /
        ``stuff_classes`` (rules: :func:`mmseem.utils.vocabulary.
        parse_vocabulary`)."""
        self._vocabulary = parse_vocabulary(thing_classes,
                                            stuff_classes).as_lists()

    def get_vocabulary(self) -> Tuple[List[str], List[str]]:
        """``(thing_classes, stuff_classes)`` in use."""
        if self._vocabulary is not None:
            return self._vocabulary
        meta = getattr(self, 'dataset_meta', None) or {}
        if any(meta.get(k) is not None for k in VOCABULARY_KEYS):
            return parse_vocabulary(meta, what='dataset_meta').as_lists()
        raise ValueError(
            'SEEM has no vocabulary: call model.set_vocabulary([...]), set '
            'test_cfg.vocabulary, or load a checkpoint / dataset whose '
            "dataset_meta has 'classes'")

    def _prepare_vocabulary(self) -> Tuple[int, int]:
        things, stuff = self.get_vocabulary()
        self.lang_encoder.get_class_embeddings(
            things + stuff, name='default', add_bgd=True, is_eval=True)
        return len(things), len(stuff)

    # ------------------------------------------------------------------
    # features
    # ------------------------------------------------------------------
    def extract_feat(self, inputs: Tensor,
                     prepare: bool = False) -> Dict[str, Tensor]:
        """Image features, computed once per image and reusable across
        interactive rounds: ``mask_features`` [B, C, H/4, W/4] and
        ``multi_scale_features`` (3 x [B, C, h, w], coarsest first).

        ``prepared``: the decoder's prompt-independent work on them
        (``predictor.prepare_features``: projected levels, position
        embeddings and, under ``torch.no_grad``, every layer's
        cross-attention keys / values), made here when ``prepare=True``,
        else by the first :meth:`predict_prompts` on these features, which
        stores it in the dict for the next rounds.
        """
        feats = self.backbone(inputs)
        mask_features, multi_scale = self.sem_seg_head.forward_features(feats)
        out = dict(
            mask_features=mask_features,
            multi_scale_features=multi_scale,
            input_shape=tuple(inputs.shape[-2:]))
        if prepare:
            out['prepared'] = self.predictor.prepare_features(multi_scale)
        return out

    def _generator(self, device) -> Optional[torch.Generator]:
        seed = self.test_cfg.get('seed')
        if seed is None:
            return None
        gen = torch.Generator(device=device)
        gen.manual_seed(int(seed))
        return gen

    # ------------------------------------------------------------------
    # BaseModel API
    # ------------------------------------------------------------------
    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}": use loss, predict or '
                           'tensor')

    def _forward(self, inputs: Tensor, data_samples=None) -> Dict:
        """Raw decoder outputs of the generic (``'seg'``) task."""
        self._prepare_vocabulary()
        feats = self.extract_feat(inputs)
        return self.sem_seg_head.decode(
            feats['mask_features'], feats['multi_scale_features'], 'seg',
            dict(vocabulary='default'), self._generator(inputs.device))

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Training losses: ``train_cfg.criterion`` (a registered module
        with ``loss(model, feats, data_samples) -> dict``) runs the prompt
        simulation rounds, the matching and the losses on the features.

        The step runs under forked global RNGs seeded by
        ``criterion.step_seed()`` (a function of the iteration), so it draws
        the same random numbers (point sampling, drop path, prompts) whether
        the run was resumed or not, and leaves the global RNG untouched.
        """
        if self.criterion is None:
            raise NotImplementedError(
                'This SEEM config has no train_cfg.criterion: add one '
                '(see configs/seem/*_synthetic*.py training configs) or use '
                'the model for inference.')
        step_seed = getattr(self.criterion, 'step_seed', None)
        if step_seed is None:
            feats = self.extract_feat(inputs)
            return self.criterion.loss(self, feats, data_samples)
        devices = [inputs.device] if inputs.device.type == 'cuda' else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(step_seed())
            feats = self.extract_feat(inputs)
            return self.criterion.loss(self, feats, data_samples)

    def predict(self, inputs: Tensor, data_samples: Sequence) -> List:
        """Predict with the task of ``test_cfg.task``, switched per batch by
        the data samples: ``visual_prompts`` -> interactive, ``text`` ->
        referring (see the module docstring)."""
        if data_samples is None:
            raise ValueError('predict needs data samples with metainfo '
                             '(img_shape, ori_shape): use the data '
                             'preprocessor / test pipeline')
        feats = self.extract_feat(inputs)
        task = self._task_of(data_samples)
        if task == 'interactive_eval':
            return self._predict_interactive_eval(feats, data_samples)
        if task == 'interactive':
            return self.predict_prompts(feats, data_samples)
        if task == 'referring':
            return self.predict_referring(feats, data_samples)
        return self.predict_generic(feats, data_samples, task)

    def _predict_interactive_eval(self, feats: Dict,
                                  data_samples: Sequence) -> List:
        """Play the user with a click protocol on every GT object and store
        ``interactive_ious`` [num_objects, max_clicks] for
        ``InteractiveMetric`` (image features are computed once)."""
        from mmseem.evaluation.interactive_session import \
            run_interactive_evaluation
        for i, sample in enumerate(data_samples):
            run_interactive_evaluation(
                self,
                feats,
                sample,
                protocol=self.test_cfg.get('interactive_protocol', 'seem'),
                max_clicks=self.test_cfg.get('max_clicks', 20),
                batch_idx=i,
                # 'ignored_instances': the sample's ignored_instances masks
                # (GrabCut / Berkeley 128 band, VOC void) leave the IoU
                ignore_mask=self.test_cfg.get('ignore_regions'))
        return list(data_samples)

    def _task_of(self, data_samples) -> str:
        def has(s, k):
            return k in s or k in s.metainfo

        if all(has(s, 'visual_prompts') for s in data_samples):
            return 'interactive'
        if any(has(s, 'visual_prompts') for s in data_samples):
            raise ValueError('mix of samples with and without '
                             'visual_prompts in one batch: run them in '
                             'separate batches')
        if all(has(s, 'text') for s in data_samples):
            return 'referring'
        return self.test_cfg['task']

    # ------------------------------------------------------------------
    # rescaling
    # ------------------------------------------------------------------
    @staticmethod
    def _rescale(mask_logits: Tensor, input_shape: Tuple[int, int],
                 meta: dict) -> Tensor:
        """[N, h, w] logits at 1/4 of the padded input -> [N, H0, W0] at the
        original image size (upsample, crop the padding, resize)."""
        if mask_logits.shape[0] == 0:
            h0, w0 = meta.get('ori_shape', input_shape)[:2]
            return mask_logits.new_zeros((0, h0, w0))
        x = F.interpolate(
            mask_logits[None], size=input_shape, mode='bilinear',
            align_corners=False)
        h, w = meta.get('img_shape', input_shape)[:2]
        x = x[..., :h, :w]
        h0, w0 = meta.get('ori_shape', (h, w))[:2]
        if (h0, w0) != (h, w):
            x = F.interpolate(
                x, size=(h0, w0), mode='bilinear', align_corners=False)
        return x[0]

    # ------------------------------------------------------------------
    # generic segmentation (panoptic / semantic / instance)
    # ------------------------------------------------------------------
    def predict_generic(self, feats: Dict, data_samples: Sequence,
                        task: Optional[str] = None) -> List:
        """Open-vocabulary panoptic / semantic / instance segmentation."""
        task = task or self.test_cfg['task']
        num_things, num_stuff = self._prepare_vocabulary()
        out = self.sem_seg_head.decode(
            feats['mask_features'], feats['multi_scale_features'], 'seg',
            dict(vocabulary='default'),
            self._generator(feats['mask_features'].device))
        cfg = self.test_cfg
        fusion = MaskFormerFusionHead(
            num_things_classes=num_things,
            num_stuff_classes=num_stuff,
            test_cfg=dict(
                object_mask_thr=cfg['object_mask_threshold'],
                iou_thr=cfg['overlap_threshold'],
                filter_low_score=True,
                max_per_image=cfg['max_per_image']))
        panoptic = task == 'panoptic' and cfg['panoptic_on']
        semantic = task == 'semantic' or (task == 'panoptic'
                                          and cfg['semantic_on'])
        instance = task == 'instance' or (task == 'panoptic'
                                          and cfg['instance_on'])
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            cls = out['pred_logits'][i]
            masks = self._rescale(out['pred_masks'][i], feats['input_shape'],
                                  meta)
            if panoptic:
                sample.pred_panoptic_seg = fusion.panoptic_postprocess(
                    cls, masks)
            if semantic:
                prob = torch.einsum('qc,qhw->chw',
                                    cls.softmax(-1)[..., :-1],
                                    masks.sigmoid())
                sample.pred_sem_seg = PixelData(
                    data=prob.argmax(0, keepdim=True))
                sample.seg_logits = PixelData(data=prob)
            if instance:
                sample.pred_instances = fusion.instance_postprocess(
                    cls, masks)
        return list(data_samples)

    # ------------------------------------------------------------------
    # referring segmentation (text)
    # ------------------------------------------------------------------
    def _texts_of(self, sample) -> List[str]:
        text = sample.get('text', sample.metainfo.get('text'))
        texts = [text] if isinstance(text, str) else list(text or [])
        if not texts:
            raise ValueError('referring segmentation needs a non-empty '
                             '`text` (a sentence or a list of sentences)')
        return texts

    def _grounding_prompts(self, texts: List[str]):
        """Sentences -> grounding tokens [T, 1, C] (valid tokens of every
        sentence, concatenated as the official multi-object inference) and
        sentence embeddings [N, C]."""
        enc = self.lang_encoder.encode_text(texts)
        valid = enc['attention_mask'].bool()
        tokens = enc['token_emb'][valid][:, None]
        return tokens, enc['class_emb']

    def predict_referring(self, feats: Dict, data_samples: Sequence) -> List:
        """One mask per sentence: the grounding query whose embedding best
        matches the sentence (``clamp(exp(logit_scale), 100) * cos``)."""
        for i, sample in enumerate(data_samples):
            texts = self._texts_of(sample)
            tokens, t_emb = self._grounding_prompts(texts)
            single = {
                'mask_features': feats['mask_features'][i:i + 1],
                'multi_scale_features':
                [f[i:i + 1] for f in feats['multi_scale_features']],
                'input_shape': feats['input_shape']
            }
            prompts = dict(grounding_tokens=tokens, vocabulary=None)
            if 'visual_prompts' in sample:
                prompts.update(self._visual_prompt_masks([sample], single))
            out = self.sem_seg_head.decode(
                single['mask_features'], single['multi_scale_features'],
                'grounding_eval', prompts,
                self._generator(tokens.device))
            sim = self.predictor.grounding_similarity(
                out['pred_gtexts'][0], t_emb)  # [Q, N]
            scores, best = sim.softmax(0).max(0)
            logits = self._rescale(out['pred_gmasks'][0][best],
                                   feats['input_shape'], sample.metainfo)
            masks = logits > self.test_cfg['mask_threshold']
            res = InstanceData()
            res.masks = masks
            res.scores = scores
            res.bboxes = mask2bbox(masks)
            res.labels = torch.zeros(len(texts), dtype=torch.long,
                                     device=masks.device)
            res.texts = texts
            sample.pred_instances = res
        return list(data_samples)

    # ------------------------------------------------------------------
    # interactive segmentation (visual prompts, memory, text)
    # ------------------------------------------------------------------
    def _visual_prompt_masks(self, data_samples, feats) -> Dict:
        pos, neg, prev = [], [], []
        for sample in data_samples:
            vp = sample.get('visual_prompts',
                            sample.metainfo.get('visual_prompts'))
            meta = sample.metainfo
            h, w = meta.get('img_shape', feats['input_shape'])[:2]
            if tuple(vp.image_size) != (h, w):
                vp = vp.rescale(
                    (w / vp.image_size[1], h / vp.image_size[0]),
                    new_size=(h, w))
            p, n = vp.to_tensors(
                pad_to=feats['input_shape'],
                device=feats['mask_features'].device)
            pos.append(p)
            neg.append(n)
            if 'prev_mask' in sample:
                prev.append(sample.prev_mask)
        prompts = dict(spatial_query_pos_mask=pos, spatial_query_neg_mask=neg)
        if prev:
            if len(prev) != len(pos):
                raise ValueError('prev_mask given for some samples only')
            prompts['prev_mask'] = prev
        return prompts

    def predict_prompts(self, feats: Dict, data_samples: Sequence,
                        extra: Optional[Dict] = None) -> List:
        """Interactive segmentation on cached features: one mask per visual
        prompt (best of its 3 spatial queries), a semantic label from the
        vocabulary and the memory logits (``pred_instances.prev_mask``) to
        pass back as ``prev_mask`` next round.

        Without text only the spatial queries run (the decoder's
        ``spatial_only``); the decoder's prompt-independent work is done
        once per ``feats`` (``feats['prepared']``, see :meth:`extract_feat`).
        ``extra``: more decoder prompt entries (e.g. ``refimg_tokens`` +
        ``spatial_query_index`` of independently sampled prompts, see
        :mod:`mmseem.apis.batched_prompts`).
        """
        prompts = self._visual_prompt_masks(data_samples, feats)
        prompts.update(extra or {})
        vocab_ok = True
        try:
            num_things, num_stuff = self._prepare_vocabulary()
            prompts['vocabulary'] = 'default'
        except ValueError:
            vocab_ok = False
            prompts['vocabulary'] = None
        texts = [s.get('text', s.metainfo.get('text')) for s in data_samples]
        if any(t for t in texts):
            if len(data_samples) != 1:
                raise ValueError('text + visual prompts: batch size 1 only')
            tokens, _ = self._grounding_prompts(self._texts_of(
                data_samples[0]))
            prompts['grounding_tokens'] = tokens
        else:
            # labels come from pred_stexts: the object queries are not needed
            prompts['spatial_only'] = True
        prepared = feats.get('prepared')
        if prepared is None:
            prepared = self.predictor.prepare_features(
                feats['multi_scale_features'])
            if not torch.is_grad_enabled():
                feats['prepared'] = prepared  # reused in the next rounds
        out = self.sem_seg_head.decode(
            feats['mask_features'], feats['multi_scale_features'], 'spatial',
            prompts, self._generator(feats['mask_features'].device),
            prepared=prepared)
        prev, index = self.predictor.select_spatial_masks(out)
        for i, sample in enumerate(data_samples):
            num_p = len(prompts['spatial_query_pos_mask'][i])
            logits = self._rescale(prev[i, :num_p], feats['input_shape'],
                                   sample.metainfo)
            res = InstanceData()
            res.masks = logits > self.test_cfg['mask_threshold']
            res.mask_logits = logits
            res.prev_mask = prev[i, :num_p].detach()
            res.bboxes = mask2bbox(res.masks)
            if vocab_ok:
                emb = torch.gather(
                    out['pred_stexts'][i], 0,
                    index[i, :num_p, None].expand(
                        -1, out['pred_stexts'].shape[-1]))
                cls = self.lang_encoder.compute_similarity(
                    emb, name='default')[:, :-1]  # drop background
                prob = cls.softmax(-1)
                res.scores, res.labels = prob.max(-1)
            else:
                res.scores = logits.new_ones(num_p)
                res.labels = torch.full((num_p, ), -1, dtype=torch.long,
                                        device=logits.device)
            sample.pred_instances = res
        return list(data_samples)

    def encode_refimg(self, ref_inputs: Tensor, ref_prompts) -> Dict:
        """Reference tokens of visual referring: the visual sampler's
        tokens for ``ref_prompts`` (:class:`VisualPrompts`, one per target)
        on ``ref_inputs`` [1, 3, H, W]. Pass the result to
        :meth:`predict_refimg` as ``ref_tokens`` to segment several target
        images (video frames) with one reference encoding."""
        ref = self.extract_feat(ref_inputs)
        pos, neg = ref_prompts.to_tensors(
            pad_to=ref['input_shape'], device=ref_inputs.device)
        gen = self._generator(ref_inputs.device)
        tokens = self.predictor.encode_reference(
            ref['multi_scale_features'], ref['mask_features'], [pos], [neg],
            generator=gen)
        # the decoder continues the same random stream as an uncached call
        return dict(tokens=tokens,
                    gen_state=None if gen is None else gen.get_state())

    def predict_refimg(self,
                       ref_inputs: Optional[Tensor],
                       ref_prompts,
                       inputs: Optional[Tensor],
                       data_samples: Sequence,
                       feats: Optional[Dict] = None,
                       ref_tokens: Optional[Dict] = None) -> List:
        """Visual referring: segment in ``inputs`` what ``ref_prompts``
        (:class:`VisualPrompts` on the padded reference image, one per
        target object) mark in ``ref_inputs`` [1, 3, H, W]. ``feats``: cached
        features of ``inputs`` (then ``inputs`` may be None);
        ``ref_tokens``: cached :meth:`encode_refimg` output (then
        ``ref_inputs`` / ``ref_prompts`` are not used)."""
        if ref_tokens is None:
            ref_tokens = self.encode_refimg(ref_inputs, ref_prompts)
        tokens = ref_tokens['tokens']
        device = (inputs if inputs is not None else
                  feats['mask_features']).device
        gen = self._generator(device)
        if gen is not None and ref_tokens.get('gen_state') is not None:
            gen.set_state(ref_tokens['gen_state'])
        if feats is None:
            feats = self.extract_feat(inputs)
        out = self.sem_seg_head.decode(
            feats['mask_features'], feats['multi_scale_features'], 'refimg',
            dict(refimg_tokens=tokens, vocabulary=None), gen)
        prev = out['prev_mask']
        for i, sample in enumerate(data_samples):
            logits = self._rescale(prev[i], feats['input_shape'],
                                   sample.metainfo)
            res = InstanceData()
            res.masks = logits > self.test_cfg['mask_threshold']
            res.scores = logits.sigmoid().flatten(1).max(1)[0]
            res.labels = torch.zeros(len(logits), dtype=torch.long,
                                     device=logits.device)
            sample.pred_instances = res
        return list(data_samples)
