"""SEEM decoder (the ``predictor`` of SEEM's head).

SEEM-specific, not in mmdet/mmseg: a Mask2Former-style masked-attention
decoder (as in X-Decoder) whose query sequence is extended by SEEM's prompts:
grounding queries + text tokens, spatial queries + visual-prompt tokens, and
memory prompts for multi-round interaction. The prompts come in as
:class:`~.decoder_prompts.DecoderPrompts`, the image as
:class:`~.features.PreparedFeatures` (its prompt-independent view, made once
per image); the query layout and attention masks live in
:mod:`..layers.attention_mask`, the visual sampler in
:mod:`..layers.visual_sampler`, the memory prompts in
:mod:`..layers.memory_prompts`.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import BaseModule, caffe2_xavier_init
from torch import Tensor, nn

from mmseem.registry import MODELS
from mmseem.structures.tasks import Task
from ..layers.attention_mask import build_self_attn_mask, self_attn_order
from ..layers.decoder_layers import (MLP, CrossAttentionLayer, FFNLayer,
                                     SelfAttentionLayer)
from ..layers.memory_prompts import assign_memories, prev_mask_to_attn_mask
from .decoder_outputs import (grounding_similarity, organize_outputs,
                              select_spatial_masks)
from .decoder_prompts import DecoderPrompts
from .decoder_queries import (QueryState, build_queries,
                              visual_prompt_tokens)
from .features import PreparedFeatures, check_prepared, prepare_features

__all__ = ['SEEMDecoder', 'PreparedFeatures']

NUM_LEVELS = 3


@MODELS.register_module()
class SEEMDecoder(BaseModule):
    """SEEM decoder: masked-attention transformer decoder with prompts.

    **Structure** (official names, so checkpoint keys under
    ``sem_seg_head.predictor.`` match; the attribute name ``predictor`` is
    kept for that reason although :class:`mmseem.apis.SEEMPredictor` is the
    interactive API): ``query_feat``/``query_embed`` (object queries,
    ``nn.Embedding(Qo, C)``), ``level_embed``, ``input_proj`` (identity when
    ``in_channels == hidden_dim``),
    ``transformer_{cross_attention,self_attention,ffn}_layers`` (``dec_layers``
    each), ``decoder_norm``, ``mask_embed`` (3-layer MLP), ``class_embed``
    ([C, dim_proj] parameter), ``lang_encoder``, and for visual prompts
    ``mask_sptial_embed`` (3 x [C, C], official typo kept),
    ``spatial_embed``/``spatial_featured`` (memory prompts) and
    ``pn_indicator``. Layer i cross-attends to level ``i % 3``; predictions
    are made before the first layer and after each layer, i.e.
    ``dec_layers + 1`` sets (the official ``DEC_LAYERS: 10`` means
    ``dec_layers=9`` here).

    **Forward**: ``forward(multi_scale_features, mask_features,
    task=Task.PANOPTIC, prompts=None, generator=None, prepared=None)``

    * ``multi_scale_features``: 3 x [B, C_in, h_l, w_l], coarsest first
      (may be None when ``prepared`` is given); ``mask_features``:
      [B, mask_dim, H/4, W/4]. Both are only read.
    * ``task`` (:class:`~mmseem.structures.Task` or its name; unknown names
      raise): ``interactive`` / ``refimg`` add ``prev_mask`` (the best of the
      S spatial queries per prompt); ``refimg`` without reference tokens
      returns the reference image's visual-prompt tokens (see
      :meth:`encode_reference`). Which query groups run is decided by the
      prompts, so prompts compose (e.g. spatial + grounding).
    * ``prompts``: :class:`~.decoder_prompts.DecoderPrompts` or SEEM's
      ``extra`` dict (official keys). With ``spatial_only`` only the spatial
      queries, their tokens and the memory prompts run (no object queries,
      no class logits): SEEM's self-attention mask keeps object and spatial
      queries apart and every other sub-layer works per query, so the
      spatial outputs equal those of the full sequence up to float rounding.
    * ``generator``: ``torch.Generator`` for the point sampling, the choice
      of spatial queries and of memory assignments (global RNG if None).
    * ``prepared``: :meth:`prepare_features` of these features.
    **Returns** a dict of SEEM's official keys for the last prediction set
    (see :func:`~.decoder_outputs.organize_outputs`) plus ``aux_outputs``
    (``dec_layers`` dicts with the same keys); for ``interactive`` /
    ``refimg`` also ``prev_mask`` [B, P, H/4, W/4].

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
        contxt_len (int): accepted (official ``CONTXT_LEN``), unused.
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
                 contxt_len: Optional[int] = None,
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

    def prepare_features(self,
                         multi_scale_features: Sequence[Tensor],
                         cache: Optional[bool] = None) -> PreparedFeatures:
        """Everything the decoder derives from the image alone
        (:func:`~.features.prepare_features` with this decoder's
        modules); pass it as ``prepared`` in every round."""
        return prepare_features(self, multi_scale_features, cache)

    # prediction heads
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

    # forward
    def forward(self,
                multi_scale_features: Optional[Sequence[Tensor]],
                mask_features: Tensor,
                task: Union[Task, str] = Task.PANOPTIC,
                prompts: Union[DecoderPrompts, dict, None] = None,
                generator: Optional[torch.Generator] = None,
                prepared: Optional[PreparedFeatures] = None) -> Dict:
        """See the class docstring."""
        task = Task.parse(task)
        prompts = DecoderPrompts.from_dict(prompts)
        sw = self.task_switch
        use_spatial = sw['spatial'] and (prompts.has_spatial
                                         or task is Task.REFIMG)
        use_grounding = sw['grounding'] and prompts.has_grounding
        use_memory = use_spatial and prompts.prev_mask is not None
        spatial_only = prompts.check_spatial_only(use_spatial, use_grounding)
        vocabulary = None if spatial_only else prompts.vocabulary

        if prepared is None:
            if multi_scale_features is None:
                raise ValueError('give multi_scale_features or prepared')
            prepared = self.prepare_features(multi_scale_features, cache=False)
        else:
            check_prepared(
                prepared, multi_scale_features, mask_features,
                self.num_layers,
                any(p.requires_grad for p in
                    self.transformer_cross_attention_layers.parameters()))
        bs = prepared.batch_size
        device = prepared.src[0].device

        vp = None
        if use_spatial:
            vp = visual_prompt_tokens(self, prompts, task, prepared,
                                      mask_features, generator)
            if task is Task.REFIMG and prompts.refimg_tokens is None:
                return vp.to_dict()
        state = build_queries(self, prompts, vp, use_grounding, use_memory,
                              bs, device, generator)
        preds = self._decode(state, prepared, mask_features, vocabulary,
                             generator, device)
        outs = [
            organize_outputs(p, state.slices, vp, use_spatial, use_grounding,
                             spatial_only) for p in preds
        ]
        result = outs[-1]
        result['aux_outputs'] = outs[:-1]
        if use_spatial and task in (Task.INTERACTIVE, Task.REFIMG):
            result['prev_mask'] = self.select_spatial_masks(result)[0]
        return result

    def _decode(self, state: QueryState, prepared: PreparedFeatures,
                mask_features: Tensor, vocabulary, generator,
                device) -> List[Dict]:
        """The layers: masked cross-attention, self-attention over queries
        + prompt tokens, FFN, prediction heads after each."""
        src, pos, sizes = prepared.src, prepared.pos, prepared.sizes
        memory_kv = prepared.memory_kv
        layout, c_sl, c_names = state.layout, state.slices, state.names
        output, query_pos, rows = state.output, state.query_pos, \
            state.head_rows
        vp, g_tok, g_pos = state.vp, state.g_tok, state.g_pos
        use_memory = state.prev_mask is not None
        bs = prepared.batch_size
        preds = [
            self.forward_prediction_heads(output[rows], mask_features,
                                          sizes[0], vocabulary)
        ]
        prev_blocked = {}  # per level: [B*heads, P, h*w] memory masks
        for i in range(self.num_layers):
            lvl = i % NUM_LEVELS
            # masked cross-attention
            cross_mask = preds[-1]['attn_mask']
            if use_memory:
                layout.memory_ids = assign_memories(
                    layout.num_prompts, layout.num_memories, generator,
                    device)
                if lvl not in prev_blocked:
                    prev_blocked[lvl] = prev_mask_to_attn_mask(
                        state.prev_mask, sizes[lvl], self.num_heads)
                mem_mask = prev_blocked[lvl][:, layout.memory_ids]
                if state.spatial_only:
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
            if g_tok is not None:
                parts['grounding_tokens'] = g_tok
                parts_pos['grounding_tokens'] = g_pos
            if vp is not None:
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
            if g_tok is not None:
                g_tok = seq[s_sl['grounding_tokens']]
            output = torch.cat([seq[s_sl[k]] for k in c_names])
            preds.append(
                self.forward_prediction_heads(
                    output[rows], mask_features,
                    sizes[(i + 1) % NUM_LEVELS], vocabulary))
        return preds

    def draw_spatial_query_index(self, num_prompts: int,
                                 generator=None) -> Tensor:
        """[P*S] ids of the object queries the spatial queries copy."""
        return torch.randint(0, self.num_queries,
                             (num_prompts * self.sample_size, ),
                             generator=generator, device=generator.device
                             if generator is not None else 'cpu')

    # readers of the outputs (see decoder_outputs.py)
    def select_spatial_masks(self, outputs: Dict) -> Tuple[Tensor, Tensor]:
        """:func:`~.decoder_outputs.select_spatial_masks` with this
        decoder's queries per prompt."""
        return select_spatial_masks(outputs, self.sample_size)

    def grounding_similarity(self, v_emb: Tensor, t_emb: Tensor) -> Tensor:
        """:func:`~.decoder_outputs.grounding_similarity` with this
        decoder's ``lang_encoder.logit_scale``: [Q, T] logits."""
        return grounding_similarity(v_emb, t_emb,
                                    self.lang_encoder.logit_scale)

    def encode_reference(self,
                         multi_scale_features: Sequence[Tensor],
                         mask_features: Tensor,
                         pos_masks: List[Tensor],
                         neg_masks: Optional[List[Tensor]] = None,
                         generator: Optional[torch.Generator] = None
                         ) -> Dict:
        """Visual-prompt tokens of a reference image (visual referring).

        Pass the result as ``DecoderPrompts(refimg_tokens=...)`` when
        decoding the target image(s). Returns SEEM's dict
        (``spatial_query_pos``/``_neg`` [P, B, C],
        ``src_spatial_queries``/``_maskings``) plus ``src_spatial_indices``
        (prompt id of every token), which SEEM v1 lacks and needs for its
        attention mask.
        """
        prompts = DecoderPrompts(spatial_pos_masks=pos_masks,
                                 spatial_neg_masks=neg_masks)
        return self.forward(multi_scale_features, mask_features, Task.REFIMG,
                            prompts, generator)
