"""SEEM head: pixel decoder + SEEM decoder (official ``sem_seg_head``).

SEEM-specific, not in mmdet/mmseg (X-Decoder's ``XdecoderHead``), shaped as
an mmdet head: the segmentor, the loss, the predictor, the inferencer and
the video API talk to this class, never to the decoder's internals.

* :meth:`forward_features`: backbone features -> :class:`ImageFeatures`
  (``mask_features`` + 3 multi-scale features, pixel decoder);
* :meth:`decode` / :meth:`forward`: the SEEM decoder (``predictor``) on
  them with :class:`DecoderPrompts`;
* :meth:`loss` (training): targets, simulated corrective prompt rounds, the
  final pass, then :meth:`loss_by_feat` (the criterion's loss terms);
* :meth:`predict` (inference, one :class:`~mmseem.structures.Task`): the
  decoder pass of the task, then :meth:`predict_by_feat`-style
  post-processing (:mod:`.seem_postprocess`) into the data samples.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmseem.registry import MODELS
from mmseem.structures.tasks import Task
from .decoder_prompts import DecoderPrompts
from .features import ImageFeatures
from .sample_prompts import grounding_prompts, texts_of, visual_prompt_masks
from .seem_postprocess import (GenericResults, generic_results, mask_results,
                               rescale_masks)
from .training_prompts import corrective_rounds, encode_grounding

__all__ = ['SEEMHead']

Vocabulary = Optional[Tuple[List[str], List[str]]]


@MODELS.register_module()
class SEEMHead(BaseModule):
    """SEEM head (checkpoint keys ``sem_seg_head.pixel_decoder.*`` and
    ``sem_seg_head.predictor.*``; ``predictor`` is the official name of the
    decoder, kept so checkpoints convert key-for-key -- the interactive API
    is :class:`mmseem.apis.SEEMPredictor`).

    Args:
        pixel_decoder (dict): Pixel decoder config; its ``forward_features``
            returns ``(mask_features, ..., multi_scale_features)``.
        predictor (dict): :class:`SEEMDecoder` config.
        test_cfg (dict, optional): the segmentor's test settings
            (thresholds of the post-processing), set by :class:`SEEM`.

    ``criterion`` (the ``train_cfg.criterion`` :class:`SEEMLoss`, holding
    no parameters) is attached by the segmentor for :meth:`loss`.
    """

    def __init__(self, pixel_decoder: dict, predictor: dict,
                 test_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        self.predictor = MODELS.build(predictor)
        self.test_cfg = dict(test_cfg or {})
        self.criterion = None

    @property
    def lang_encoder(self):
        return self.predictor.lang_encoder

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward_features(self, feats: Dict[str, Tensor]
                         ) -> Tuple[Tensor, list]:
        """Backbone features ``res2..res5`` -> (mask_features [B, C, H/4,
        W/4], multi_scale_features: 3 x [B, C, h, w], coarsest first)."""
        out = self.pixel_decoder.forward_features(feats)
        mask_features, multi_scale_features = out[0], out[-1]
        return mask_features, list(multi_scale_features)

    def decode(self,
               mask_features: Tensor,
               multi_scale_features: Optional[list],
               task: Union[Task, str] = Task.PANOPTIC,
               prompts: Union[DecoderPrompts, dict, None] = None,
               generator: Optional[torch.Generator] = None,
               prepared=None) -> Dict:
        """Run the SEEM decoder on (cached) pixel-decoder outputs;
        ``prepared``: :meth:`SEEMDecoder.prepare_features` of them."""
        return self.predictor(
            multi_scale_features,
            mask_features,
            task=task,
            prompts=prompts,
            generator=generator,
            prepared=prepared)

    def forward(self,
                feats: Dict[str, Tensor],
                task: Union[Task, str] = Task.PANOPTIC,
                prompts: Union[DecoderPrompts, dict, None] = None,
                generator: Optional[torch.Generator] = None) -> Dict:
        """Backbone features ``res2..res5`` + prompts -> decoder outputs."""
        mask_features, multi_scale_features = self.forward_features(feats)
        return self.decode(mask_features, multi_scale_features, task,
                           prompts, generator)

    def prepare(self, feats: ImageFeatures) -> ImageFeatures:
        """``feats`` with the decoder's prompt-independent work done
        (a new object; ``feats`` is not changed)."""
        if feats.prepared is not None:
            return feats
        return feats.with_prepared(
            self.predictor.prepare_features(feats.multi_scale_features))

    def set_vocabulary(self, vocabulary: Vocabulary, train: bool = False,
                       generator=None) -> Optional[Tuple[int, int]]:
        """Class embeddings of ``things + stuff`` (+ background) as the
        language encoder's ``'default'`` set; ``(num_things, num_stuff)``
        or None without a vocabulary."""
        if vocabulary is None:
            return None
        things, stuff = vocabulary
        kw = dict(is_eval=False, generator=generator) if train else \
            dict(is_eval=True)
        self.lang_encoder.get_class_embeddings(
            list(things) + list(stuff), name='default', add_bgd=True, **kw)
        return len(things), len(stuff)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, feats: ImageFeatures, data_samples: Sequence,
             vocabulary: Vocabulary = None) -> Dict[str, Tensor]:
        """All SEEM training losses of a batch.

        Targets (:mod:`mmseem.models.losses.seem_targets`), then
        ``randint(0, max_rounds)`` corrective prompt rounds without gradient
        (each adds one click per prompt; the last round's masks become the
        memory prompts), then the final pass with gradient on all prompts
        (object + grounding + spatial queries) and :meth:`loss_by_feat`.
        """
        from mmseem.models.losses.seem_targets import (SEEMTargets,
                                                      grounding_targets,
                                                      panoptic_targets,
                                                      spatial_targets)
        crit = self.criterion
        if crit is None:
            raise NotImplementedError('SEEMHead.loss needs a criterion '
                                      '(train_cfg.criterion of SEEM)')
        feats = ImageFeatures.of(feats)
        device, size = feats.device, tuple(feats.input_shape)
        np_rng, gen_cpu, gen = crit.generators(device)
        switch = self.predictor.task_switch
        things, stuff = crit.vocabulary(vocabulary)
        names = things + stuff
        targets = SEEMTargets(
            panoptic_targets(data_samples, len(things), len(stuff), size,
                             device), names=names)
        for gt in targets.panoptic:
            if len(gt.labels) and int(gt.labels.max()) >= len(names):
                raise ValueError(
                    f'GT label {int(gt.labels.max())} outside the training '
                    f'vocabulary of {len(names)} classes: check class_names')
        # one random template per class, with gradient (official training)
        self.set_vocabulary((things, stuff), train=True, generator=gen_cpu)
        prompts = DecoderPrompts(vocabulary='default')
        if 'grounding' in crit.tasks and switch['grounding']:
            targets.grounding = grounding_targets(
                data_samples, targets.panoptic, names, gen_cpu,
                self.lang_encoder.prompt_templates, crit.max_grounding,
                crit.class_fallback)
            (prompts.grounding_tokens,
             prompts.grounding_padding) = encode_grounding(
                 self.lang_encoder, targets.grounding, device)
        if 'spatial' in crit.tasks and switch['spatial']:
            targets.spatial = spatial_targets(targets.panoptic,
                                              crit.simulator, np_rng)
            rounds = crit.simulator.num_rounds(np_rng)
            prev = corrective_rounds(self, feats, targets.spatial, rounds,
                                     gen)
            prompts.spatial_pos_masks = [x.pos for x in targets.spatial]
            prompts.spatial_neg_masks = [x.neg for x in targets.spatial]
            prompts.prev_mask = prev
        out = self.decode(feats.mask_features, feats.multi_scale_features,
                          Task.PANOPTIC, prompts, gen)
        return self.loss_by_feat(out, targets, gen)

    def loss_by_feat(self, out: Dict, targets,
                     generator: Optional[torch.Generator] = None
                     ) -> Dict[str, Tensor]:
        """The criterion's loss terms of decoder outputs vs. targets."""
        return self.criterion.loss_by_feat(out, targets,
                                           self.lang_encoder.logit_scale,
                                           self.predictor.sample_size,
                                           generator)

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict(self, feats: ImageFeatures, data_samples: Sequence,
                task: Union[Task, str], vocabulary: Vocabulary = None,
                generator: Optional[torch.Generator] = None) -> List:
        """Results of ``task`` into ``data_samples`` (see
        :mod:`mmseem.structures.tasks`); ``generator``: the random stream
        of the point sampling and query draws (one per image session)."""
        task = Task.parse(task)
        feats = ImageFeatures.of(feats)
        if task.is_generic:
            return self.predict_generic(feats, data_samples, task, vocabulary,
                                        generator)
        if task is Task.REFERRING:
            return self.predict_referring(feats, data_samples, generator)
        if task is Task.INTERACTIVE:
            return self.predict_prompts(feats, data_samples, vocabulary,
                                        generator)
        raise ValueError(f'SEEMHead.predict runs panoptic, semantic, '
                         f'instance, referring or interactive; for '
                         f'{task.value!r} use the segmentor')

    def predict_generic(self, feats: ImageFeatures, data_samples: Sequence,
                        task: Task, vocabulary: Vocabulary,
                        generator=None) -> List:
        """Open-vocabulary panoptic / semantic / instance segmentation."""
        num_things, num_stuff = self.set_vocabulary(vocabulary)
        if generator is None:
            generator = self._generator(feats.device)
        out = self.decode(feats.mask_features, feats.multi_scale_features,
                          Task.PANOPTIC, DecoderPrompts(vocabulary='default'),
                          generator)
        cfg = self.test_cfg
        pan = task is Task.PANOPTIC
        res = GenericResults(
            num_things, num_stuff,
            panoptic=pan and cfg.get('panoptic_on', True),
            semantic=task is Task.SEMANTIC or (pan and cfg.get(
                'semantic_on', True)),
            instance=task is Task.INSTANCE or (pan and cfg.get(
                'instance_on', True)),
            object_mask_thr=cfg.get('object_mask_threshold', 0.8),
            iou_thr=cfg.get('overlap_threshold', 0.8),
            max_per_image=cfg.get('max_per_image', 100))
        for i, sample in enumerate(data_samples):
            masks = rescale_masks(out['pred_masks'][i], feats.input_shape,
                                  sample.metainfo)
            generic_results(res, out['pred_logits'][i], masks, sample)
        return list(data_samples)

    def predict_referring(self, feats: ImageFeatures, data_samples: Sequence,
                          generator=None) -> List:
        """One mask per sentence: the grounding query whose embedding best
        matches the sentence (``clamp(exp(logit_scale), 100) * cos``)."""
        thr = self.test_cfg.get('mask_threshold', 0.0)
        for i, sample in enumerate(data_samples):
            texts = texts_of(sample)
            tokens, t_emb = grounding_prompts(self.lang_encoder, texts)
            single = feats.select(i)
            prompts = DecoderPrompts(grounding_tokens=tokens, vocabulary=None)
            if 'visual_prompts' in sample:
                vp = visual_prompt_masks([sample], single)
                prompts.spatial_pos_masks = vp.spatial_pos_masks
                prompts.spatial_neg_masks = vp.spatial_neg_masks
                prompts.prev_mask = vp.prev_mask
            gen = generator if generator is not None else \
                self._generator(tokens.device)
            out = self.decode(single.mask_features,
                              single.multi_scale_features, Task.REFERRING,
                              prompts, gen)
            sim = self.predictor.grounding_similarity(
                out['pred_gtexts'][0], t_emb)  # [Q, N]
            scores, best = sim.softmax(0).max(0)
            logits = rescale_masks(out['pred_gmasks'][0][best],
                                   feats.input_shape, sample.metainfo)
            sample.pred_instances = mask_results(logits, thr, scores,
                                                 texts=texts)
        return list(data_samples)

    def predict_prompts(self, feats: ImageFeatures, data_samples: Sequence,
                        vocabulary: Vocabulary = None, generator=None,
                        extra: Union[DecoderPrompts, dict, None] = None
                        ) -> List:
        """Interactive segmentation on cached features: one mask per visual
        prompt (best of its S spatial queries), a semantic label from the
        vocabulary (-1 without one) and the memory logits
        (``pred_instances.prev_mask``) to pass back as ``prev_mask`` next
        round. Without text only the spatial queries run (``spatial_only``);
        ``extra``: more decoder prompts, e.g. batched prompts' tokens.
        """
        prompts = visual_prompt_masks(data_samples, feats)
        prompts.update(extra)
        counts = self.set_vocabulary(vocabulary)
        prompts.vocabulary = None if counts is None else 'default'
        texts = [s.get('text', s.metainfo.get('text')) for s in data_samples]
        if any(t for t in texts):
            if len(data_samples) != 1:
                raise ValueError('text + visual prompts: batch size 1 only')
            prompts.grounding_tokens, _ = grounding_prompts(
                self.lang_encoder, texts_of(data_samples[0]))
        else:
            # labels come from pred_stexts: the object queries are not needed
            prompts.spatial_only = True
        feats = self.prepare(feats)
        if generator is None:
            generator = self._generator(feats.device)
        out = self.decode(feats.mask_features, feats.multi_scale_features,
                          Task.INTERACTIVE, prompts, generator,
                          feats.prepared)
        prev, index = self.predictor.select_spatial_masks(out)
        thr = self.test_cfg.get('mask_threshold', 0.0)
        for i, sample in enumerate(data_samples):
            num_p = len(prompts.spatial_pos_masks[i])
            logits = rescale_masks(prev[i, :num_p], feats.input_shape,
                                   sample.metainfo)
            scores = labels = None
            if counts is not None:
                emb = torch.gather(
                    out['pred_stexts'][i], 0,
                    index[i, :num_p, None].expand(
                        -1, out['pred_stexts'].shape[-1]))
                cls = self.lang_encoder.compute_similarity(
                    emb, name='default')[:, :-1]  # drop background
                scores, labels = cls.softmax(-1).max(-1)
            else:
                scores = logits.new_ones(num_p)
                labels = torch.full((num_p, ), -1, dtype=torch.long,
                                    device=logits.device)
            res = mask_results(logits, thr, scores, labels)
            res.mask_logits = logits
            res.prev_mask = prev[i, :num_p].detach()
            sample.pred_instances = res
        return list(data_samples)

    def encode_reference(self, ref_feats: ImageFeatures, ref_prompts,
                         generator=None) -> Dict:
        """Visual-prompt tokens of :class:`VisualPrompts` ``ref_prompts``
        (padded-image pixels) on a reference image's features."""
        pos, neg = ref_prompts.to_tensors(pad_to=ref_feats.input_shape,
                                          device=ref_feats.device)
        return self.predictor.encode_reference(
            ref_feats.multi_scale_features, ref_feats.mask_features, [pos],
            [neg], generator=generator)

    def predict_refimg(self, feats: ImageFeatures, data_samples: Sequence,
                       ref_tokens: Dict, generator=None) -> List:
        """Visual referring with the reference tokens of
        :meth:`encode_reference`: one mask per reference prompt."""
        out = self.decode(feats.mask_features, feats.multi_scale_features,
                          Task.REFIMG,
                          DecoderPrompts(refimg_tokens=ref_tokens,
                                         vocabulary=None), generator)
        thr = self.test_cfg.get('mask_threshold', 0.0)
        for i, sample in enumerate(data_samples):
            logits = rescale_masks(out['prev_mask'][i], feats.input_shape,
                                   sample.metainfo)
            sample.pred_instances = mask_results(logits, thr, bboxes=False)
        return list(data_samples)

    def _generator(self, device) -> Optional[torch.Generator]:
        """A generator seeded with ``test_cfg.seed`` (None: global RNG)."""
        seed = self.test_cfg.get('seed')
        if seed is None:
            return None
        return torch.Generator(device=device).manual_seed(int(seed))
