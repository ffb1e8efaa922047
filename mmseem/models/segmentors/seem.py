"""SEEM: one promptable model for every segmentation task.

SEEM-specific (official ``GeneralizedSEEM``) on MMEngine's ``BaseModel``;
results are data samples that mmdet/mmseg evaluators read. It owns the
backbone, the vocabulary and the task dispatch; everything after the backbone is :class:`~mmseem.models.heads.SEEMHead`
(``sem_seg_head``): image -> backbone -> pixel decoder (``extract_feat``)
-> head (decoder + post-processing). See ``docs/en/architecture.md``.

Tasks: :class:`~mmseem.structures.Task` (``test_cfg.task``, a sample's
own ``task``, or inferred: ``visual_prompts`` -> interactive, ``text`` ->
referring); see :mod:`mmseem.structures.tasks` for what each one runs.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmseem.registry import MODELS
from mmseem.structures.tasks import Task, task_of
from mmseem.utils.cfg_keys import (SEEM_TEST_CFG_KEYS, SEEM_TRAIN_CFG_KEYS,
                                   check_cfg_keys)
from mmseem.utils.checkpoint_fit import register_checkpoint_fit_check
from mmseem.utils.vocabulary import VOCABULARY_KEYS, parse_vocabulary
from ..heads.features import ImageFeatures
from ..utils.freeze import freeze_parameters
from .image_session import evaluate_clicks

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
            ``task``, ``semantic_on``/``instance_on``/``panoptic_on``, the
            official panoptic merging's ``object_mask_threshold`` /
            ``overlap_threshold`` (0.8), ``max_per_image``, ``seed`` of the
            point / query sampling (None: global RNG), ``vocabulary``
            (``thing_classes`` / ``stuff_classes``, else ``dataset_meta``),
            ``ignore_regions`` of the click evaluation.
        init_cfg (dict, optional): initialisation config.
        pretrained (None): accepted (must be None) because
            ``mmseg.apis.init_model`` sets ``model.pretrained = None``.
        frozen_modules (Sequence[str]): official ``SOLVER.FIX_PARAM``
            substrings of parameter names to freeze (SEEM's recipe:
            ``('backbone', 'pixel_decoder', 'lang_encoder')``); see
            :func:`~mmseem.models.utils.freeze.freeze_parameters`.

    Official attribute names (``backbone``, ``sem_seg_head``, buffer
    ``dilation_kernel``): released checkpoints map key-for-key.
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
            raise ValueError('`pretrained` is not used by SEEM: load '
                             'converted weights with `load_from` / a '
                             "checkpoint, or set the backbone's `init_cfg`.")
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.sem_seg_head = MODELS.build(sem_seg_head)
        # official persistent buffer: the 3x3 kernel that dilates clicks
        self.register_buffer('dilation_kernel', torch.ones(1, 1, 3, 3))
        check_cfg_keys(train_cfg, SEEM_TRAIN_CFG_KEYS, 'model.train_cfg')
        check_cfg_keys(test_cfg, SEEM_TEST_CFG_KEYS, 'model.test_cfg')
        self.train_cfg = dict(train_cfg or {})
        criterion = self.train_cfg.pop('criterion', None)
        # run by the head; holds no parameters (checkpoint keys unchanged)
        self.sem_seg_head.criterion = MODELS.build(criterion) \
            if criterion else None
        cfg = dict(DEFAULT_TEST_CFG)
        cfg.update(test_cfg or {})
        cfg['task'] = Task.parse(cfg['task'], 'test_cfg.task')
        self.test_cfg = cfg
        self.sem_seg_head.test_cfg = cfg  # one dict: thresholds, seed
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
        """Freeze parameters whose names contain one of ``keys``."""
        return freeze_parameters(self, keys)

    @property
    def predictor(self):
        """The decoder, official name (keys ``sem_seg_head.predictor.*``);
        the interactive API is :class:`mmseem.apis.SEEMPredictor`."""
        return self.sem_seg_head.predictor

    @property
    def lang_encoder(self):
        return self.sem_seg_head.lang_encoder

    def set_vocabulary(self,
                       thing_classes: Union[str, Sequence[str], dict],
                       stuff_classes: Union[str, Sequence[str]] = ()) -> None:
        """Set the open vocabulary: things first, then stuff (class ``i``
        is index ``i`` of ``thing_classes + stuff_classes``); rules:
        :func:`mmseem.utils.vocabulary.parse_vocabulary`."""
        self._vocabulary = parse_vocabulary(thing_classes,
                                            stuff_classes).as_lists()

    def get_vocabulary(self) -> Tuple[List[str], List[str]]:
        """``(thing_classes, stuff_classes)`` in use."""
        vocab = self._vocabulary_or_none()
        if vocab is None:
            raise ValueError(
                'SEEM has no vocabulary: call model.set_vocabulary([...]), '
                'set test_cfg.vocabulary, or load a checkpoint / dataset '
                "whose dataset_meta has 'classes'")
        return vocab

    def _vocabulary_or_none(self):
        if self._vocabulary is not None:
            return self._vocabulary
        meta = getattr(self, 'dataset_meta', None) or {}
        if any(meta.get(k) is not None for k in VOCABULARY_KEYS):
            return parse_vocabulary(meta, what='dataset_meta').as_lists()
        return None

    @property
    def criterion(self):  # train_cfg.criterion (SEEMLoss), run by the head
        return self.sem_seg_head.criterion

    def extract_feat(self, inputs: Tensor,
                     prepare: bool = False) -> ImageFeatures:
        """:class:`ImageFeatures` of ``inputs``, reusable across rounds;
        ``prepare=True`` adds the decoder's prompt-independent work."""
        mask_features, multi_scale = self.sem_seg_head.forward_features(
            self.backbone(inputs))
        feats = ImageFeatures(mask_features, multi_scale,
                              tuple(inputs.shape[-2:]))
        return self.sem_seg_head.prepare(feats) if prepare else feats

    def _generator(self, device) -> Optional[torch.Generator]:
        """A new generator seeded with ``test_cfg.seed``."""
        return self.sem_seg_head._generator(device)

    def session_generator(self, device) -> Optional[torch.Generator]:
        """One interactive image session's random stream, seeded once and
        passed to every round (later rounds continue it, as official)."""
        return self._generator(device)

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
        """Raw decoder outputs of the generic (``panoptic``) task."""
        self.sem_seg_head.set_vocabulary(self.get_vocabulary())
        feats = self.extract_feat(inputs)
        return self.sem_seg_head.decode(
            feats.mask_features, feats.multi_scale_features, Task.PANOPTIC,
            dict(vocabulary='default'), self._generator(inputs.device))

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Training losses: :meth:`SEEMHead.loss` (prompt simulation
        rounds, final pass, ``train_cfg.criterion``'s loss terms).

        Runs under forked global RNGs seeded by ``criterion.step_seed()``
        (a function of the iteration): a resumed run draws the same numbers.
        """
        if self.criterion is None:
            raise NotImplementedError(
                'This SEEM config has no train_cfg.criterion: add one '
                '(see configs/seem/*_synthetic*.py training configs) or use '
                'the model for inference.')
        devices = [inputs.device] if inputs.device.type == 'cuda' else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.criterion.step_seed())
            feats = self.extract_feat(inputs)
            return self.sem_seg_head.loss(feats, data_samples,
                                          self._vocabulary_or_none())

    def predict(self, inputs: Tensor, data_samples: Sequence) -> List:
        """Predict with the batch's task (see the module docstring)."""
        if data_samples is None:
            raise ValueError('predict needs data samples with metainfo '
                             '(img_shape, ori_shape): use the data '
                             'preprocessor / test pipeline')
        feats = self.extract_feat(inputs)
        task = self._task_of(data_samples)
        if task is Task.INTERACTIVE_EVAL:
            return self._predict_interactive_eval(feats, data_samples)
        if task is Task.INTERACTIVE:
            return self.predict_prompts(feats, data_samples)
        if task is Task.REFERRING:
            return self.predict_referring(feats, data_samples)
        if task is Task.REFIMG:
            raise ValueError('visual referring needs a reference image: use '
                             'model.predict_refimg(...) or mmseem.apis')
        return self.predict_generic(feats, data_samples, task)

    def _predict_interactive_eval(self, feats: ImageFeatures,
                                  data_samples: Sequence) -> List:
        """Click benchmark: ``interactive_ious`` into every sample."""
        return evaluate_clicks(self, feats, data_samples)

    def _task_of(self, data_samples) -> Task:  # see structures/tasks.py
        return task_of(data_samples, self.test_cfg['task'])

    # ------------------------------------------------------------------
    # tasks (the head does the work)
    # ------------------------------------------------------------------
    def predict_generic(self, feats: ImageFeatures, data_samples: Sequence,
                        task=None) -> List:
        """Open-vocabulary panoptic / semantic / instance segmentation."""
        task = Task.parse(task or self.test_cfg['task'])
        if not task.is_generic:
            raise ValueError(f'predict_generic runs panoptic / semantic / '
                             f'instance, not {task.value!r}')
        return self.sem_seg_head.predict(feats, data_samples, task,
                                         self.get_vocabulary())

    def predict_referring(self, feats: ImageFeatures,
                          data_samples: Sequence) -> List:
        """One mask per sentence of each sample's ``text``."""
        return self.sem_seg_head.predict(feats, data_samples,
                                         Task.REFERRING)

    def predict_prompts(self, feats: ImageFeatures, data_samples: Sequence,
                        extra=None,
                        generator: Optional[torch.Generator] = None) -> List:
        """One interactive round (:meth:`SEEMHead.predict_prompts`);
        ``extra``: more decoder prompts (:class:`DecoderPrompts` or official
        keys, e.g. ``refimg_tokens`` + ``spatial_query_index`` of batched
        prompts); ``generator``: the session's stream (None: new)."""
        return self.sem_seg_head.predict_prompts(
            ImageFeatures.of(feats), data_samples, self._vocabulary_or_none(),
            generator, extra)

    def encode_refimg(self, ref_inputs: Tensor, ref_prompts) -> Dict:
        """Visual-referring tokens of ``ref_prompts`` (one per target) on
        ``ref_inputs`` [1, 3, H, W], for :meth:`predict_refimg`."""
        gen = self._generator(ref_inputs.device)
        tokens = self.sem_seg_head.encode_reference(
            self.extract_feat(ref_inputs), ref_prompts, gen)
        # the decoder continues the same random stream as an uncached call
        return dict(tokens=tokens,
                    gen_state=None if gen is None else gen.get_state())

    def predict_refimg(self,
                       ref_inputs: Optional[Tensor],
                       ref_prompts,
                       inputs: Optional[Tensor],
                       data_samples: Sequence,
                       feats: Optional[ImageFeatures] = None,
                       ref_tokens: Optional[Dict] = None) -> List:
        """Segment in ``inputs`` (or cached ``feats``) what ``ref_prompts``
        (padded-image pixels) mark in ``ref_inputs`` (or cached
        ``ref_tokens`` of :meth:`encode_refimg`)."""
        if ref_tokens is None:
            ref_tokens = self.encode_refimg(ref_inputs, ref_prompts)
        feats = self.extract_feat(inputs) if feats is None else \
            ImageFeatures.of(feats)
        gen = self._generator(feats.device)
        if gen is not None and ref_tokens.get('gen_state') is not None:
            gen.set_state(ref_tokens['gen_state'])
        return self.sem_seg_head.predict_refimg(feats, data_samples,
                                                ref_tokens['tokens'], gen)
