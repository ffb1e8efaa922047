"""Independent visual prompts in one SEEM decoder call.

SEEM-specific, not in mmdet/mmseg (SAM batches prompts in its mask decoder;
SEEM's decoder takes a batch of images, each with P prompts). Several
prompts of *one* image in one ``'spatial'`` call are not independent in
SEEM: they share the visual sampler's point budget (``max_spatial_len``
points for all prompts together), the spatial queries are drawn once for
all of them and the 32 memory prompts are split between them at random. To
get N prompts that behave exactly as N separate single-prompt rounds
(:meth:`SEEMPredictor.predict`), every prompt is first sampled on its own
with a fresh seeded generator -- the visual sampler (``task='refimg'`` of
the head's ``decode``) and the decoder's ``draw_spatial_query_index``, the
same draws as a single round -- and then all of them go through one
``'spatial'`` decoder call (:meth:`SEEM.predict_prompts` with the sampled
tokens as ``refimg_tokens`` and the draws as ``spatial_query_index``), in
one of two layouts:

* ``'joint'`` (first rounds, no memory): one image with N prompts. SEEM's
  self-attention mask already keeps prompts apart (the spatial queries of
  prompt p see only p's queries and tokens) and cross-attention and the
  heads work per query, so with each prompt's own tokens and queries the
  outputs are the single-round ones. The image features are shared: no
  copies, one mask GEMM.
* ``'batch'`` (memory prompts, or many tokens): N copies of the image
  (features repeated along the batch, cached per N), one prompt each --
  needed because SEEM's memory prompts are split between the prompts of an
  image at random; padded tokens are blocked by the attention mask.

Outputs equal the one-at-a-time outputs up to float rounding. Memory
prompts work per prompt: pass each prompt's previous ``prev_mask``
[1, h, w].
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.structures import InstanceData
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from mmseem.structures import VisualPrompts

__all__ = ['split_prompts', 'repeat_features', 'BatchedPromptRunner']


def split_prompts(prompts: VisualPrompts) -> List[VisualPrompts]:
    """One :class:`VisualPrompts` per prompt (object) of ``prompts``."""
    return [
        VisualPrompts(prompts.image_size, [p], prompts.allow_negative_only)
        for p in prompts.prompts
    ]


def _repeat_prepared(prepared, n: int):
    """The decoder's prepared features of one image repeated ``n`` times
    along the batch: ``src`` / ``pos`` / ``memory_kv`` are [HW, B, C] (batch
    dim 1), ``maps`` / ``projected`` [B, C, h, w] (batch dim 0)."""
    if prepared.batch_size != 1:
        raise ValueError('prepared features of one image are repeated; got '
                         f'a batch of {prepared.batch_size}')

    def seq(x):
        return x.repeat(1, n, 1)

    def img(x):
        return x.repeat(n, 1, 1, 1)

    kv = prepared.memory_kv
    return prepared.__class__(
        src=[seq(x) for x in prepared.src],
        pos=[seq(x) for x in prepared.pos],
        sizes=list(prepared.sizes),
        maps=[img(x) for x in prepared.maps],
        projected=None if prepared.projected is None else
        [img(x) for x in prepared.projected],
        memory_kv=None if kv is None else [(seq(k), seq(v)) for k, v in kv])


def repeat_features(model, feats: Dict, n: int) -> Dict:
    """``SEEM.extract_feat`` output of one image -> the same for a batch of
    ``n`` copies, with the decoder's prepared features (computed here under
    ``no_grad`` when ``feats`` has none). ``feats`` is not modified."""
    if feats['mask_features'].shape[0] != 1:
        raise ValueError('repeat_features takes the features of one image')
    prepared = feats.get('prepared')
    if prepared is None:
        with torch.no_grad():
            prepared = model.predictor.prepare_features(
                feats['multi_scale_features'])
    return dict(
        mask_features=feats['mask_features'].repeat(n, 1, 1, 1),
        multi_scale_features=[
            f.expand(n, -1, -1, -1) for f in feats['multi_scale_features']
        ],
        input_shape=feats['input_shape'],
        prepared=_repeat_prepared(prepared, n))


def _cat_tokens(token_sets: Sequence[Dict]) -> Dict:
    """Per-prompt ``refimg_tokens`` dicts (batch 1, one prompt each) -> one
    dict with batch N; spatial tokens are padded per level (mask True,
    prompt id -1), as the visual sampler pads a batch."""
    out = dict(
        spatial_query_pos=torch.cat(
            [t['spatial_query_pos'] for t in token_sets], 1),
        spatial_query_neg=torch.cat(
            [t['spatial_query_neg'] for t in token_sets], 1))
    num_levels = len(token_sets[0]['src_spatial_queries'])
    q, m, i = [], [], []
    for lvl in range(num_levels):
        q.append(pad_sequence(
            [t['src_spatial_queries'][lvl][:, 0] for t in token_sets]))
        m.append(pad_sequence(
            [t['src_spatial_maskings'][lvl][0] for t in token_sets],
            batch_first=True, padding_value=True))
        i.append(pad_sequence(
            [t['src_spatial_indices'][lvl][0] for t in token_sets],
            batch_first=True, padding_value=-1))
    out.update(src_spatial_queries=q, src_spatial_maskings=m,
               src_spatial_indices=i)
    return out


def _join_tokens(token_sets: Sequence[Dict]) -> Dict:
    """Per-prompt ``refimg_tokens`` dicts (batch 1, one prompt each) -> one
    dict of one image with N prompts (prompt ids renumbered 0..N-1)."""
    num_levels = len(token_sets[0]['src_spatial_queries'])
    return dict(
        spatial_query_pos=torch.cat(
            [t['spatial_query_pos'] for t in token_sets]),
        spatial_query_neg=torch.cat(
            [t['spatial_query_neg'] for t in token_sets]),
        src_spatial_queries=[
            torch.cat([t['src_spatial_queries'][lvl] for t in token_sets])
            for lvl in range(num_levels)
        ],
        src_spatial_maskings=[
            torch.cat([t['src_spatial_maskings'][lvl] for t in token_sets],
                      1) for lvl in range(num_levels)
        ],
        src_spatial_indices=[
            torch.cat([
                torch.where(t['src_spatial_indices'][lvl] < 0, -1,
                            t['src_spatial_indices'][lvl] + p)
                for p, t in enumerate(token_sets)
            ], 1) for lvl in range(num_levels)
        ])


@dataclass
class BatchedPromptRunner:
    """Runs single-prompt rounds of one image in batches of decoder calls.

    Args:
        model (SEEM): the segmentor (eval mode).
        feats (dict): its ``extract_feat`` output for one image.
        sample: a data sample of that image (metainfo: ``img_shape``,
            ``ori_shape``); copied per prompt.

        max_joint_tokens (int): ``'auto'`` mode runs memory-free prompts
            jointly while they have at most this many spatial tokens in
            all (the self-attention sequence grows with them), else as a
            batch of image copies.

    The repeated features of ``'batch'`` mode are cached per batch size.
    """
    model: object
    feats: Dict
    sample: object
    max_joint_tokens: int = 4096
    _repeated: Dict[int, Dict] = field(default_factory=dict, repr=False)
    # per object, its session's random stream (as SEEMPredictor: a new
    # object set starts one, rounds with memory continue it)
    _streams: List = field(default_factory=list, repr=False)

    def _prepare(self) -> None:
        # the decoder's prepared features of the image, kept in ``feats``
        # as SEEM.predict_prompts keeps them
        if self.feats.get('prepared') is None:
            from mmseem.models.heads.features import ImageFeatures
            with torch.no_grad():  # a prepared copy; feats stay unchanged
                self.feats = self.model.sem_seg_head.prepare(
                    ImageFeatures.of(self.feats))

    def _features(self, n: int) -> Dict:
        if n not in self._repeated:
            self._prepare()
            self._repeated[n] = repeat_features(self.model, self.feats, n)
        return self._repeated[n]

    def _samples(self, prompts: Sequence[VisualPrompts],
                 prev_masks: Optional[Sequence[Tensor]]) -> List:
        samples = []
        for k, vp in enumerate(prompts):
            if len(vp) != 1:
                raise ValueError(
                    f'prompt set {k} has {len(vp)} prompts; each set of a '
                    'batch is one object (split with split_prompts)')
            s = self.sample.__class__(metainfo=self.sample.metainfo)
            s.visual_prompts = vp
            if prev_masks is not None and prev_masks[k] is not None:
                s.prev_mask = prev_masks[k]
            samples.append(s)
        return samples

    def run_all(self,
                prompts: VisualPrompts,
                prev_masks: Optional[Sequence[Tensor]] = None,
                batch_size: Optional[int] = None,
                mode: str = 'auto',
                image_size: Optional[Sequence[int]] = None) -> InstanceData:
        """Every prompt of ``prompts`` as its own object, ``batch_size`` per
        decoder call (:meth:`run`); ``pred_instances`` of all, in order.
        ``image_size``: (H, W) the prompts must be drawn on."""
        if not isinstance(prompts, VisualPrompts) or len(prompts) == 0:
            raise ValueError('prompts must be a non-empty VisualPrompts (or '
                             'a dict of VisualPrompts.build arguments)')
        if image_size is not None and \
                tuple(prompts.image_size) != tuple(image_size):
            raise ValueError(
                f'prompts are for an image of size {prompts.image_size} but '
                f'the image set has size {tuple(image_size)}')
        singles = split_prompts(prompts)
        n = len(singles)
        if prev_masks is not None and len(prev_masks) != n:
            raise ValueError(f'prev_masks has {len(prev_masks)} entries for '
                             f'{n} prompts: give one per prompt')
        step = n if batch_size is None else int(batch_size)
        if step < 1:
            raise ValueError(f'batch_size must be >= 1; got {batch_size}')
        if prev_masks is None or len(self._streams) != n:
            device = self.feats['mask_features'].device
            self._streams = [
                self.model._generator(device) for _ in range(n)
            ]
        return InstanceData.cat([
            self.run(singles[i:i + step],
                     None if prev_masks is None else prev_masks[i:i + step],
                     mode, self._streams[i:i + step])
            for i in range(0, n, step)
        ])

    @torch.no_grad()
    def run(self,
            prompts: Sequence[VisualPrompts],
            prev_masks: Optional[Sequence[Optional[Tensor]]] = None,
            mode: str = 'auto',
            streams: Optional[Sequence] = None) -> InstanceData:
        """One decoder call for ``len(prompts)`` single-prompt sets.

        Args:
            prompts: one-prompt :class:`VisualPrompts` of the image.
            prev_masks: per prompt its previous round's ``prev_mask``
                [1, h, w] (memory prompts), all given or all None.
            mode (str): ``'joint'``, ``'batch'`` (module doc) or ``'auto'``
                (joint without memory and up to ``max_joint_tokens``).
            streams: per prompt its random stream (default: a fresh one
                seeded with ``test_cfg.seed``, as a first round).

        Returns:
            InstanceData: the ``pred_instances`` of
            :meth:`SEEM.predict_prompts` for the N prompts in order (masks,
            mask_logits, prev_mask, bboxes, scores, labels).
        """
        if mode not in ('auto', 'joint', 'batch'):
            raise ValueError(f"mode must be 'auto', 'joint' or 'batch'; got "
                             f'{mode!r}')
        n = len(prompts)
        if n == 0:
            raise ValueError('no prompt given')
        if prev_masks is not None:
            given = [p is not None for p in prev_masks]
            if len(prev_masks) != n or (any(given) and not all(given)):
                raise ValueError('prev_masks: one per prompt set, all given '
                                 'or all None')
            if not any(given):
                prev_masks = None
        if mode == 'joint' and prev_masks is not None:
            raise ValueError("memory prompts need mode='batch' (SEEM "
                             'splits memories between the prompts of an '
                             'image at random)')
        model, feats1 = self.model, self.feats
        samples = self._samples(prompts, prev_masks)
        self._prepare()
        from mmseem.models.heads.features import ImageFeatures
        from mmseem.models.heads.sample_prompts import visual_prompt_masks
        feats1 = self.feats
        masks = visual_prompt_masks(samples, ImageFeatures.of(feats1))
        head, device = model.sem_seg_head, feats1['mask_features'].device
        tokens, index = [], []
        for k, (pos, neg) in enumerate(
                zip(masks.spatial_pos_masks, masks.spatial_neg_masks)):
            # the object's own stream, as in its single rounds
            gen = streams[k] if streams is not None else \
                model._generator(device)
            tokens.append(head.decode(
                feats1['mask_features'], None, 'refimg',
                dict(spatial_query_pos_mask=[pos],
                     spatial_query_neg_mask=[neg]), gen,
                prepared=feats1['prepared']))
            index.append(model.predictor.draw_spatial_query_index(1, gen))
        if mode == 'auto':
            num_tokens = sum(t['src_spatial_queries'][0].shape[0]
                             for t in tokens)
            mode = 'joint' if prev_masks is None and \
                num_tokens <= self.max_joint_tokens else 'batch'
        if mode == 'joint':
            sample = self.sample.__class__(metainfo=self.sample.metainfo)
            sample.visual_prompts = VisualPrompts.cat(list(prompts))
            extra = dict(refimg_tokens=_join_tokens(tokens),
                         spatial_query_index=torch.cat(index)[None].to(
                             device))
            return model.predict_prompts(feats1, [sample],
                                         extra)[0].pred_instances
        extra = dict(refimg_tokens=_cat_tokens(tokens),
                     spatial_query_index=torch.stack(index).to(device))
        out = model.predict_prompts(self._features(n), samples, extra)
        return InstanceData.cat([s.pred_instances for s in out])
