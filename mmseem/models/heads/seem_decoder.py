"""SEEM decoder (the ``predictor`` of SEEM's head).

SEEM-specific, not in mmdet/mmseg: a Mask2Former-style masked-attention
decoder (as in X-Decoder) whose query sequence is extended by SEEM's prompts:
grounding queries + text tokens, spatial queries + visual-prompt tokens, and
memory prompts for multi-round interaction.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import BaseModule, caffe2_xavier_init
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

from mmseem.registry import MODELS
from ..layers.attention_mask import (QueryLayout, build_self_attn_mask,
                                     cross_attn_order, self_attn_order)
from ..layers.decoder_layers import (MLP, CrossAttentionLayer, FFNLayer,
                                     SelfAttentionLayer)
from ..layers.memory_prompts import assign_memories, prev_mask_to_attn_mask
from ..layers.visual_sampler import (SampledPromptTokens, check_prompt_masks,
                                     project_level_features,
                                     sample_visual_prompts)

__all__ = ['SEEMDecoder', 'PreparedFeatures']

NUM_LEVELS = 3


@dataclass
class PreparedFeatures:
    """The decoder's prompt-independent view of one image batch.

    Made by :meth:`SEEMDecoder.prepare_features`; pass it as ``prepared``
    in every interactive round so that only the prompt path runs. Nothing in
    it is modified by the decoder.

    Attributes:
        src (list[Tensor]): per level [h_l*w_l, B, C] features after
            ``input_proj`` + ``level_embed``.
        pos (list[Tensor]): per level [h_l*w_l, B, C] sine position
            embeddings.
        sizes (list[tuple]): per level (h_l, w_l).
        maps (list[Tensor]): per level [B, C, h_l, w_l] (= ``src``
            unflattened), read by the visual sampler.
        projected (list[Tensor], optional): per level ``maps`` projected by
            ``mask_sptial_embed`` (the maps spatial tokens are sampled from).
        memory_kv (list[tuple], optional): per decoder layer the keys and
            values of its cross-attention
            (:meth:`CrossAttentionLayer.project_memory` of its level).
    """
    src: List[Tensor]
    pos: List[Tensor]
    sizes: List[Tuple[int, int]]
    maps: List[Tensor]
    projected: Optional[List[Tensor]] = None
    memory_kv: Optional[List[Tuple[Tensor, Tensor]]] = None

    @property
    def batch_size(self) -> int:
        return self.src[0].shape[1]


@MODELS.register_module()
class SEEMDecoder(BaseModule):
    """SEEM decoder: masked-attention transformer decoder with prompts.

    **Structure** (official names, so checkpoint keys under
    ``sem_seg_head.predictor.`` match): ``query_feat``/``query_embed``
    (object queries, ``nn.Embedding(Qo, C)``), ``level_embed``,
    ``input_proj`` (identity when ``in_channels == hidden_dim``),
    ``transformer_{cross_attention,self_attention,ffn}_layers`` (``dec_layers``
    each), ``decoder_norm``, ``mask_embed`` (3-layer MLP), ``class_embed``
    ([C, dim_proj] parameter), ``lang_encoder``, and for visual prompts
    ``mask_sptial_embed`` (3 x [C, C]), ``spatial_embed``/``spatial_featured``
    (memory prompts) and ``pn_indicator``. Layer i cross-attends to level
    ``i % 3`` of ``multi_scale_features``; predictions are made before the
    first layer and after each layer, i.e. ``dec_layers + 1`` sets (the
    official config's ``DEC_LAYERS: 10`` means ``dec_layers=9`` here).

    **Forward**: ``forward(multi_scale_features, mask_features, task='seg',
    extra=None, generator=None, prepared=None)``

    * ``multi_scale_features``: 3 tensors [B, C_in, h_l, w_l], lowest
      resolution first (pixel decoder's ``forward_features``);
    * ``mask_features``: [B, mask_dim, H/4, W/4].
      Both are only read: compute them once per image and pass them again in
      every interactive round, with ``prepared`` (below) for the
      prompt-independent decoder work, so that only the prompt path runs.
    * ``task``: ``'seg'`` (generic), ``'grounding_eval'``, ``'spatial'``
      (adds ``prev_mask``: the best of the S spatial queries per prompt),
      ``'refimg'`` (with ``spatial_query_pos_mask`` and no ``refimg_tokens``:
      return the reference image's visual-prompt tokens instead of
      predictions, see :meth:`encode_reference`); other strings behave like
      ``'seg'``. Which prompt paths run is decided by ``extra``, so prompts
      compose (e.g. spatial + grounding).
    * ``extra`` (dict, optional):

      - ``spatial_query_pos_mask`` / ``spatial_query_neg_mask``: lists of B
        bool tensors [P_b, H, W] at the padded input resolution (negative
        masks default to empty); see :mod:`..layers.visual_sampler` for the
        rules;
      - ``refimg_tokens``: dict from :meth:`encode_reference` on another
        image (visual referring); replaces the masks;
      - ``spatial_query_index``: [P*S] or [B, P*S] long, the object queries
        the spatial queries start from (per image); drawn with
        :meth:`draw_spatial_query_index` when absent (batched independent
        prompts pass each prompt's own draw);
      - ``prev_mask``: [B, P, h, w] previous-round mask logits of each prompt
        (``prev_mask`` of the previous ``'spatial'`` output; a list of
        [P_b, h, w] or bool masks are accepted) -> memory prompts;
      - ``grounding_tokens``: [T, B, C] text token embeddings,
        ``grounding_nonzero_mask``: [B, T] bool, True = padded token;
      - ``vocabulary``: name of the class-embedding set of the language
        encoder for ``pred_logits`` (default ``'default'``).
      - ``spatial_only`` (bool): run only the spatial queries, their
        prompt tokens and the memory prompts (no object queries, no class
        logits; not with grounding). SEEM's self-attention mask keeps object
        and spatial queries apart and every other sub-layer works per query,
        so the spatial outputs are those of the full sequence (up to float
        rounding); the choice of spatial queries draws from the same random
        stream. Returns only the spatial keys (``pred_smasks``,
        ``pred_stexts``, ``pred_smaskembs``, ``pred_pspatials``,
        ``pred_nspatials``, ``prev_mask``) for the last set and in
        ``aux_outputs``. Memory prompts get no prediction heads here (their
        cross-attention mask comes from ``prev_mask`` only).
    * ``generator``: ``torch.Generator`` for the point sampling, the choice
      of spatial queries and of memory assignments (global RNG if None).
    * ``prepared``: :class:`PreparedFeatures` of these features from
      :meth:`prepare_features` (computed once per image, reused every
      round); ``multi_scale_features`` may then be None.

    **Returns** a dict (official names), for the last prediction set plus
    ``aux_outputs`` (list of ``dec_layers`` dicts with the same keys):
    ``pred_logits`` [B, Qo, K] (``logit_scale.exp()`` x cosine with the
    vocabulary, background last when the vocabulary has it), ``pred_masks``
    [B, Qo, H/4, W/4]; with grounding or spatial prompts ``pred_captions``
    [B, Qo, dim_proj]; with grounding ``pred_gmasks`` [B, Qo, H/4, W/4],
    ``pred_gtexts`` [B, Qo, dim_proj]; with spatial prompts ``pred_smasks``
    [B, P*S, H/4, W/4], ``pred_stexts``, ``pred_smaskembs`` [B, P*S, C],
    ``pred_pspatials`` / ``pred_nspatials`` [B, P, C]; for ``'spatial'`` /
    ``'refimg'`` tasks also ``prev_mask`` [B, P, H/4, W/4].
    Spatial queries are prompt-major: query ``p*S + s`` belongs to prompt p.

    Args:
        lang_encoder (dict | nn.Module): Language encoder (config or module)
            with ``compute_similarity(v_emb, name)`` and ``logit_scale``.
        in_channels (int): Channels of ``multi_scale_features``.
        hidden_dim (int): C. Defaults to 512.
        dim_proj (int): Joint vision-language size. Defaults to 512.
        num_queries (int): Object queries Qo. Defaults to 101.
        nheads (int): Attention heads. Defaults to 8.
        dim_feedforward (int): FFN size. Defaults to 2048.
        dec_layers (int): Decoder layers. Defaults to 9.
        pre_norm (bool): Pre-norm layers. Defaults to False.
        mask_dim (int): Channels of ``mask_features``. Defaults to 512.
        enforce_input_project (bool): 1x1 conv even if channels match.
        max_spatial_len (Sequence[int]): Points per level (+ last for the
            mean vectors). Defaults to (512, 512, 512, 512).
        num_spatial_memories (int): Memory prompts M. Defaults to 32.
        queries_per_prompt (int): Spatial queries S per prompt. Defaults 3.
        contxt_len (int): Text context length (kept for configs). 77.
        mask_feature_stride (int, optional): Stride of ``mask_features``
            w.r.t. the padded input; prompt masks must be exactly that much
            larger. None disables the check. Defaults to 4.
        spatial (bool): Build the visual-prompt parameters. Defaults True.
        grounding (bool): Enable text grounding. Defaults True.
    """

    def __init__(self,
                 lang_encoder: Union[dict, nn.Module],
                 in_channels: int = 512,
                 hidden_dim: int = 512,
                 dim_proj: int = 512,
                 num_queries: int = 101,
                 nheads: int = 8,
                 dim_feedforward: int = 2048,
                 dec_layers: int = 9,
                 pre_norm: bool = False,
                 mask_dim: int = 512,
                 enforce_input_project: bool = False,
                 max_spatial_len: Sequence[int] = (512, 512, 512, 512),
                 num_spatial_memories: int = 32,
                 queries_per_prompt: int = 3,
                 contxt_len: int = 77,
                 mask_feature_stride: Optional[int] = 4,
                 spatial: bool = True,
                 grounding: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if dec_layers < 1:
            raise ValueError('dec_layers must be >= 1')
        if len(max_spatial_len) < NUM_LEVELS:
            raise ValueError('max_spatial_len needs one entry per level '
                             f'({NUM_LEVELS}) plus one for the mean vectors')
        self.num_heads = nheads
        self.num_layers = dec_layers
        self.num_queries = num_queries
        self.contxt_len = contxt_len
        self.num_feature_levels = NUM_LEVELS
        self.max_spatial_len = list(max_spatial_len)
        self.sample_size = queries_per_prompt
        self.mask_feature_stride = mask_feature_stride
        self.task_switch = dict(spatial=spatial, grounding=grounding)

        self.pe_layer = SinePositionalEncoding(hidden_dim // 2, normalize=True)
        self.transformer_self_attention_layers = nn.ModuleList()
        self.transformer_cross_attention_layers = nn.ModuleList()
        self.transformer_ffn_layers = nn.ModuleList()
        for _ in range(dec_layers):
            self.transformer_self_attention_layers.append(
                SelfAttentionLayer(hidden_dim, nheads,
                                   normalize_before=pre_norm))
            self.transformer_cross_attention_layers.append(
                CrossAttentionLayer(hidden_dim, nheads,
                                    normalize_before=pre_norm))
            self.transformer_ffn_layers.append(
                FFNLayer(hidden_dim, dim_feedforward,
                         normalize_before=pre_norm))
        self.decoder_norm = nn.LayerNorm(hidden_dim)

        self.query_feat = nn.Embedding(num_queries, hidden_dim)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.level_embed = nn.Embedding(NUM_LEVELS, hidden_dim)
        self.input_proj = nn.ModuleList()
        for _ in range(NUM_LEVELS):
            if in_channels != hidden_dim or enforce_input_project:
                conv = nn.Conv2d(in_channels, hidden_dim, kernel_size=1)
                caffe2_xavier_init(conv)
                self.input_proj.append(conv)
            else:
                self.input_proj.append(nn.Sequential())

        self.lang_encoder = MODELS.build(lang_encoder) if isinstance(
            lang_encoder, dict) else lang_encoder
        self.mask_embed = MLP(hidden_dim, hidden_dim, mask_dim, 3)
        self.class_embed = nn.Parameter(torch.empty(hidden_dim, dim_proj))
        nn.init.trunc_normal_(self.class_embed, std=.02)

        if spatial:
            self.mask_sptial_embed = nn.ParameterList([
                nn.Parameter(torch.empty(hidden_dim, hidden_dim))
                for _ in range(NUM_LEVELS)
            ])
            for p in self.mask_sptial_embed:
                nn.init.trunc_normal_(p, std=.02)
            self.spatial_embed = nn.Embedding(num_spatial_memories,
                                              hidden_dim)
            self.spatial_featured = nn.Embedding(num_spatial_memories,
                                                 hidden_dim)
            self.pn_indicator = nn.Embedding(2, hidden_dim)

    # ------------------------------------------------------------------
    # features
    # ------------------------------------------------------------------
    def _prepare_features(self, multi_scale_features: Sequence[Tensor]):
        """-> src [HW, B, C] (+ level embed), pos [HW, B, C], sizes, and
        the level maps [B, C, h, w] (for the visual sampler)."""
        if len(multi_scale_features) != NUM_LEVELS:
            raise ValueError(f'expected {NUM_LEVELS} multi-scale features, '
                             f'got {len(multi_scale_features)}')
        src, pos, sizes, maps = [], [], [], []
        for i, x in enumerate(multi_scale_features):
            b, _, h, w = x.shape
            sizes.append((h, w))
            pe = self.pe_layer(x.new_zeros((b, h, w), dtype=torch.bool))
            pos.append(pe.to(x.dtype).flatten(2).permute(2, 0, 1))
            m = self.input_proj[i](x) + self.level_embed.weight[i][None, :,
                                                                     None,
                                                                     None]
            maps.append(m)
            src.append(m.flatten(2).permute(2, 0, 1))
        return src, pos, sizes, maps

    def prepare_features(self,
                         multi_scale_features: Sequence[Tensor],
                         cache: Optional[bool] = None) -> PreparedFeatures:
        """Everything the decoder derives from the image alone.

        Args:
            multi_scale_features (list[Tensor]): 3 x [B, C_in, h_l, w_l].
            cache (bool, optional): also precompute the cross-attention keys
                / values of every layer and the visual sampler's projected
                maps (the costly prompt-independent work of a round). They
                follow the current weights and carry no gradient when made
                under ``torch.no_grad``, so they are meant for inference.
                Defaults to ``not torch.is_grad_enabled()``.

        Returns:
            PreparedFeatures: pass it as ``prepared`` to :meth:`forward`.
        """
        src, pos, sizes, maps = self._prepare_features(multi_scale_features)
        prepared = PreparedFeatures(src, pos, sizes, maps)
        if cache is None:
            cache = not torch.is_grad_enabled()
        if cache:
            prepared.memory_kv = [
                layer.project_memory(src[i % NUM_LEVELS], pos[i % NUM_LEVELS])
                for i, layer in enumerate(
                    self.transformer_cross_attention_layers)
            ]
            if self.task_switch['spatial']:
                prepared.projected = project_level_features(
                    maps, list(self.mask_sptial_embed))
        return prepared

    def _check_prepared(self, prepared, multi_scale_features, mask_features):
        if not isinstance(prepared, PreparedFeatures):
            raise TypeError('prepared must be the PreparedFeatures of '
                            'SEEMDecoder.prepare_features, got '
                            f'{type(prepared)}')
        bs = prepared.batch_size
        if mask_features.shape[0] != bs:
            raise ValueError(
                f'prepared features hold {bs} images but mask_features '
                f'{mask_features.shape[0]}: prepare the same image batch')
        if multi_scale_features is not None:
            shapes = [(f.shape[0], tuple(f.shape[-2:]))
                      for f in multi_scale_features]
            if shapes != [(bs, tuple(s)) for s in prepared.sizes]:
                raise ValueError(
                    f'prepared features are for (batch, size) '
                    f'{[(bs, tuple(s)) for s in prepared.sizes]} but '
                    f'multi_scale_features are {shapes}: call '
                    'prepare_features on these features')
        kv = prepared.memory_kv
        if kv is not None and len(kv) != self.num_layers:
            raise ValueError(f'prepared memory_kv has {len(kv)} layers, the '
                             f'decoder {self.num_layers}')
        if kv is not None and torch.is_grad_enabled() \
                and not kv[0][0].requires_grad and any(
                    p.requires_grad for p in
                    self.transformer_cross_attention_layers.parameters()):
            raise ValueError(
                'prepared features hold keys/values made without gradients; '
                'for training call prepare_features(..., cache=False) (or '
                'pass no prepared features)')

    # ------------------------------------------------------------------
    # prediction heads
    # ------------------------------------------------------------------
    def forward_prediction_heads(self, output: Tensor, mask_features: Tensor,
                                 attn_mask_target_size: Tuple[int, int],
                                 vocabulary: Optional[str] = 'default'
                                 ) -> Dict[str, Tensor]:
        """Heads on the cross-attention sequence ``output`` [L, B, C].

        Returns class logits [B, L, K] (None if ``vocabulary`` is None),
        masks [B, L, H/4, W/4], caption embeddings [B, L, dim_proj], mask
        embeddings [B, L, mask_dim] and the next cross-attention mask
        [B*heads, L, h*w] (True = outside the predicted mask).
        """
        dec = self.decoder_norm(output).transpose(0, 1)
        caption = dec @ self.class_embed
        logits = None if vocabulary is None else \
            self.lang_encoder.compute_similarity(caption, name=vocabulary)
        mask_embed = self.mask_embed(dec)
        masks = torch.einsum('bqc,bchw->bqhw', mask_embed, mask_features)
        attn = F.interpolate(
            masks,
            size=attn_mask_target_size,
            mode='bilinear',
            align_corners=False)
        attn = (attn.sigmoid().flatten(2) < 0.5).repeat_interleave(
            self.num_heads, dim=0).detach()
        return dict(
            logits=logits,
            masks=masks,
            caption=caption,
            maskemb=mask_embed,
            attn_mask=attn)

    # ------------------------------------------------------------------
    # input handling
    # ------------------------------------------------------------------
    def _visual_prompts(self, extra, task, maps, mask_features, generator,
                        projected=None):
        bs = mask_features.shape[0]
        if 'refimg_tokens' in extra:
            return SampledPromptTokens.from_dict(extra['refimg_tokens'], bs)
        if 'spatial_query_pos_mask' not in extra:
            raise ValueError(f"task '{task}' needs spatial_query_pos_mask "
                             '(or refimg_tokens) in extra')
        input_size = None
        if self.mask_feature_stride is not None:
            input_size = tuple(s * self.mask_feature_stride
                               for s in mask_features.shape[-2:])
        pos_masks, neg_masks = check_prompt_masks(
            extra['spatial_query_pos_mask'],
            extra.get('spatial_query_neg_mask'), bs, input_size)
        return sample_visual_prompts(pos_masks, neg_masks, mask_features,
                                     maps, list(self.mask_sptial_embed),
                                     self.pn_indicator.weight,
                                     self.max_spatial_len, generator,
                                     projected)

    @staticmethod
    def _prev_mask(prev, bs, num_prompts):
        if isinstance(prev, (list, tuple)):
            if prev and prev[0].dtype == torch.bool:
                prev = pad_sequence(list(prev), batch_first=True)
            else:
                prev = pad_sequence(
                    list(prev), batch_first=True, padding_value=-100.)
        if not isinstance(prev, Tensor) or prev.dim() != 4:
            raise ValueError('prev_mask must be [B, P, h, w] mask logits '
                             '(or a list of [P_b, h, w])')
        if prev.shape[0] != bs or prev.shape[1] != num_prompts:
            raise ValueError(
                f'prev_mask is {tuple(prev.shape[:2])} (B, P) but the '
                f'prompts are ({bs}, {num_prompts}); pass the previous '
                "round's prev_mask for the same prompts")
        return prev

    def _grounding(self, extra, bs, hidden_dim):
        tokens = extra['grounding_tokens']
        if tokens.dim() != 3 or tokens.shape[1] != bs or \
                tokens.shape[2] != hidden_dim:
            raise ValueError(
                f'grounding_tokens must be [T, B={bs}, C={hidden_dim}], got '
                f'{tuple(tokens.shape)}')
        pad = extra.get('grounding_nonzero_mask')
        if pad is None:
            pad = tokens.new_zeros((bs, tokens.shape[0]), dtype=torch.bool)
        if tuple(pad.shape) != (bs, tokens.shape[0]):
            raise ValueError('grounding_nonzero_mask must be [B, T] bool '
                             '(True = padded token)')
        return tokens, pad.bool()

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def forward(self,
                multi_scale_features: Optional[Sequence[Tensor]],
                mask_features: Tensor,
                task: str = 'seg',
                extra: Optional[dict] = None,
                generator: Optional[torch.Generator] = None,
                prepared: Optional[PreparedFeatures] = None) -> Dict:
        """See the class docstring."""
        if not isinstance(task, str):
            raise TypeError(f'task must be a str, got {type(task)}')
        extra = {} if extra is None else extra
        sw = self.task_switch
        use_spatial = sw['spatial'] and (
            'spatial_query_pos_mask' in extra or 'refimg_tokens' in extra
            or task == 'refimg')
        use_grounding = sw['grounding'] and 'grounding_tokens' in extra
        use_memory = use_spatial and extra.get('prev_mask') is not None
        spatial_only = bool(extra.get('spatial_only', False))
        if spatial_only and not use_spatial:
            raise ValueError(
                'spatial_only needs visual prompts: give '
                'spatial_query_pos_mask (or refimg_tokens), or drop '
                'spatial_only')
        if spatial_only and use_grounding:
            raise ValueError(
                'spatial_only runs without the grounding queries: drop '
                'grounding_tokens or spatial_only')
        vocabulary = None if spatial_only else extra.get(
            'vocabulary', 'default')

        if prepared is None:
            if multi_scale_features is None:
                raise ValueError('give multi_scale_features or prepared')
            prepared = self.prepare_features(multi_scale_features, cache=False)
        else:
            self._check_prepared(prepared, multi_scale_features,
                                 mask_features)
        src, pos, sizes, maps = (prepared.src, prepared.pos, prepared.sizes,
                                 prepared.maps)
        memory_kv = prepared.memory_kv
        bs = src[0].shape[1]
        device = src[0].device

        q_out, q_pos = {}, {}
        if not spatial_only:
            q_out['object'] = self.query_feat.weight[:, None].repeat(1, bs, 1)
            q_pos['object'] = self.query_embed.weight[:, None].repeat(
                1, bs, 1)

        vp = None
        num_prompts = 0
        if use_spatial:
            vp = self._visual_prompts(extra, task, maps, mask_features,
                                      generator, prepared.projected)
            if task == 'refimg' and 'refimg_tokens' not in extra:
                return vp.to_dict()
            num_prompts = vp.num_prompts
            # spatial queries start as copies of randomly drawn object
            # queries (same draw with or without spatial_only); a given
            # spatial_query_index [B, P*S] picks them per image instead
            idx = extra.get('spatial_query_index')
            if idx is None:
                idx = self.draw_spatial_query_index(num_prompts, generator)
            idx = idx.to(device).expand(bs, num_prompts * self.sample_size)
            q_out['spatial'] = self.query_feat.weight[idx].transpose(0, 1)
            q_pos['spatial'] = self.query_embed.weight[idx].transpose(0, 1)
            if use_memory:
                prev_mask = self._prev_mask(extra['prev_mask'], bs,
                                            num_prompts)
                q_out['memories'] = self.spatial_featured.weight[:, None] \
                    .repeat(1, bs, 1)
                q_pos['memories'] = self.spatial_embed.weight[:, None] \
                    .repeat(1, bs, 1)
        g_tok = g_pos = g_pad = None
        if use_grounding:
            g_tok, g_pad = self._grounding(extra, bs,
                                           self.query_feat.weight.shape[-1])
            g_pos = g_tok.detach().clone()
            q_out['grounding'] = q_out['object'].clone()
            q_pos['grounding'] = q_pos['object'].clone()

        layout = QueryLayout(
            num_object=0 if spatial_only else self.num_queries,
            num_grounding=self.num_queries if use_grounding else 0,
            num_prompts=num_prompts,
            queries_per_prompt=self.sample_size if use_spatial else 0,
            grounding_padding=g_pad,
            spatial_token_ids=vp.level_prompt_ids[0] if use_spatial else None,
            memory_ids=(torch.zeros(self.spatial_featured.num_embeddings,
                                    dtype=torch.long)
                        if use_memory else None))
        c_sl = cross_attn_order(layout)
        c_names = [k for k, s in c_sl.items() if s.stop > s.start]
        output = torch.cat([q_out[k] for k in c_names])
        query_pos = torch.cat([q_pos[k] for k in c_names])
        # rows that get prediction heads: with spatial_only the memories
        # (whose cross-attention masks come from prev_mask) are skipped
        head_rows = slice(0, c_sl['memories'].start) \
            if spatial_only and use_memory else slice(None)

        preds = [
            self.forward_prediction_heads(output[head_rows], mask_features,
                                          sizes[0], vocabulary)
        ]
        prev_blocked = {}  # per level: [B*heads, P, h*w] memory masks
        for i in range(self.num_layers):
            lvl = i % NUM_LEVELS
            # masked cross-attention
            cross_mask = preds[-1]['attn_mask']
            if use_memory:
                layout.memory_ids = assign_memories(
                    num_prompts, layout.num_memories, generator, device)
                if lvl not in prev_blocked:
                    prev_blocked[lvl] = prev_mask_to_attn_mask(
                        prev_mask, sizes[lvl], self.num_heads)
                mem_mask = prev_blocked[lvl][:, layout.memory_ids]
                if spatial_only:
                    cross_mask = torch.cat([cross_mask, mem_mask], dim=1)
                else:
                    cross_mask = cross_mask.clone()
                    cross_mask[:, c_sl['memories']] = mem_mask
            else:
                cross_mask = cross_mask.clone()
            # unblock rows that block everything (as an expression: ONNX)
            cross_mask = cross_mask & ~cross_mask.all(-1, keepdim=True)
            output = self.transformer_cross_attention_layers[i](
                output,
                src[lvl],
                memory_mask=cross_mask,
                pos=pos[lvl],
                query_pos=query_pos,
                memory_kv=None if memory_kv is None else memory_kv[i])

            # self-attention over queries + prompt tokens
            parts = {k: output[c_sl[k]] for k in c_names}
            parts_pos = {k: query_pos[c_sl[k]] for k in c_names}
            if use_grounding:
                parts['grounding_tokens'] = g_tok
                parts_pos['grounding_tokens'] = g_pos
            if use_spatial:
                s_tok = vp.level_tokens[lvl]
                parts['spatial_tokens'] = s_tok
                parts_pos['spatial_tokens'] = s_tok.detach().clone()
                layout.spatial_token_ids = vp.level_prompt_ids[lvl]
            s_sl = self_attn_order(layout)
            s_names = [k for k, s in s_sl.items() if s.stop > s.start]
            seq = torch.cat([parts[k] for k in s_names])
            seq_pos = torch.cat([parts_pos[k] for k in s_names])
            self_mask = build_self_attn_mask(layout, bs, self.num_heads,
                                             device)
            seq = self.transformer_self_attention_layers[i](
                seq, tgt_mask=self_mask, query_pos=seq_pos)
            seq = self.transformer_ffn_layers[i](seq)
            if use_grounding:
                g_tok = seq[s_sl['grounding_tokens']]
            output = torch.cat([seq[s_sl[k]] for k in c_names])
            preds.append(
                self.forward_prediction_heads(
                    output[head_rows], mask_features,
                    sizes[(i + 1) % NUM_LEVELS], vocabulary))

        outs = [
            self._organize(p, c_sl, vp, use_spatial, use_grounding,
                           spatial_only) for p in preds
        ]
        result = outs[-1]
        result['aux_outputs'] = outs[:-1]
        if use_spatial and task in ('spatial', 'refimg'):
            result['prev_mask'] = self.select_spatial_masks(result)[0]
        return result

    def draw_spatial_query_index(
            self,
            num_prompts: int,
            generator: Optional[torch.Generator] = None) -> Tensor:
        """The object queries the P*S spatial queries start from: [P*S]
        ids drawn uniformly from the generator (shared by the batch), as
        :meth:`forward` does when ``extra`` has no ``spatial_query_index``.
        """
        return torch.randint(
            0,
            self.num_queries, (num_prompts * self.sample_size, ),
            generator=generator,
            device=generator.device if generator is not None else 'cpu')

    def _organize(self, p, sl, vp, use_spatial, use_grounding,
                  spatial_only=False) -> Dict:
        o, out = sl['object'], {}
        if not spatial_only:
            if p['logits'] is not None:
                out['pred_logits'] = p['logits'][:, o]
            out['pred_masks'] = p['masks'][:, o]
            if use_spatial or use_grounding:
                out['pred_captions'] = p['caption'][:, o]
        if use_grounding:
            g = sl['grounding']
            out['pred_gmasks'] = p['masks'][:, g]
            out['pred_gtexts'] = p['caption'][:, g]
        if use_spatial:
            s = sl['spatial']
            out['pred_smasks'] = p['masks'][:, s]
            out['pred_stexts'] = p['caption'][:, s]
            out['pred_smaskembs'] = p['maskemb'][:, s]
            out['pred_pspatials'] = vp.pos_embeds.transpose(0, 1)
            out['pred_nspatials'] = vp.neg_embeds.transpose(0, 1)
        return out

    # ------------------------------------------------------------------
    # helpers for the segmentor
    # ------------------------------------------------------------------
    def select_spatial_masks(self, outputs: Dict) -> Tuple[Tensor, Tensor]:
        """Best of the S spatial queries of every prompt.

        Scores each spatial query by ``mask_embedding . positive_vector`` of
        its own prompt (raw dot product, other prompts excluded) and keeps
        the highest.

        Returns:
            tuple: ``prev_mask`` [B, P, H/4, W/4] mask logits of the selected
            queries and their indices [B, P] into the P*S spatial queries.
        """
        emb = outputs['pred_smaskembs']  # [B, P*S, C]
        pvec = outputs['pred_pspatials']  # [B, P, C]
        num_prompts = pvec.shape[1]
        q_ids = torch.arange(
            num_prompts, device=emb.device).repeat_interleave(
                self.sample_size)
        scores = emb @ pvec.transpose(1, 2)  # [B, P*S, P]
        other = q_ids[:, None] != torch.arange(num_prompts,
                                               device=emb.device)[None]
        scores = scores.masked_fill(other[None], float('-inf'))
        index = scores.argmax(dim=1)  # [B, P]
        masks = outputs['pred_smasks']
        prev = torch.gather(
            masks, 1, index[..., None, None].expand(-1, -1,
                                                    *masks.shape[-2:]))
        return prev, index

    def grounding_similarity(self, v_emb: Tensor, t_emb: Tensor) -> Tensor:
        """Grounding scores ``clamp(exp(logit_scale), max=100) * cos``.

        Args:
            v_emb (Tensor): [Q, dim_proj] query embeddings (``pred_gtexts``).
            t_emb (Tensor): [T, dim_proj] phrase embeddings.

        Returns:
            Tensor: [Q, T] logits.
        """
        v = v_emb / (v_emb.norm(dim=-1, keepdim=True) + 1e-7)
        t = t_emb / (t_emb.norm(dim=-1, keepdim=True) + 1e-7)
        scale = self.lang_encoder.logit_scale.exp().clamp(max=100)
        return scale * (v @ t.t())

    def encode_reference(self,
                         multi_scale_features: Sequence[Tensor],
                         mask_features: Tensor,
                         pos_masks: List[Tensor],
                         neg_masks: Optional[List[Tensor]] = None,
                         generator: Optional[torch.Generator] = None
                         ) -> Dict:
        """Visual-prompt tokens of a reference image (visual referring).

        Pass the result as ``extra['refimg_tokens']`` when decoding the target
        image(s). Returns SEEM's dict (``spatial_query_pos``/``_neg`` [P, B,
        C], ``src_spatial_queries``/``_maskings``) plus
        ``src_spatial_indices`` (prompt id of every token), which SEEM v1
        lacks and needs for its attention mask.
        """
        extra = {'spatial_query_pos_mask': pos_masks}
        if neg_masks is not None:
            extra['spatial_query_neg_mask'] = neg_masks
        return self.forward(multi_scale_features, mask_features, 'refimg',
                            extra, generator)
