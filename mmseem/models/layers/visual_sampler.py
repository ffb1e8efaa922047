"""Visual sampler: visual prompts -> spatial tokens and prompt vectors.

SEEM-specific, not in mmdet/mmseg. SEEM turns every visual prompt (a point,
box, scribble, polygon or mask, already rasterised to a boolean mask at the
padded input resolution) into:

* per decoder level l, *spatial tokens*: features of the level's image
  features (after ``input_proj`` and ``level_embed``) projected by
  ``mask_sptial_embed[l]`` and sampled at up to ``max_spatial_len[l]`` points
  inside the prompt's positive and negative masks, plus the learnable
  positive / negative indicator ``pn_indicator.weight[0]`` / ``[1]``;
* per prompt, the *mean positive / negative vectors*: the mean of the
  ``mask_features`` sampled at up to ``max_spatial_len[-1]`` points; used to
  pick the best of the S spatial queries of a prompt.

Points are drawn without replacement, with equal total probability mass per
prompt (each non-empty prompt gets mass 1/#prompts spread uniformly over its
pixels), sorted, from the given ``torch.Generator``. A pixel (y, x) of an
H x W mask becomes the normalised point (x / W, y / H) and is read with
``point_sample(..., align_corners=True)`` -- SEEM's convention, kept for
numerical parity. Draw order (matters for seeded parity): positive means,
negative means, then for every level its positive then negative points; each
over the batch in order.

The learnable parameters (``mask_sptial_embed``, ``pn_indicator``) live on
the decoder (checkpoint names); the sampler receives them.

Prompt rules (checked, ``ValueError`` otherwise): every image has at least
one prompt; every prompt has at least one *positive* pixel (an empty prompt or
a negative-only prompt is rejected: SEEM's query selection needs a positive
vector; SEEM itself would silently use a -1 placeholder); positive and
negative masks of an image have the same shape [P, H, W]; all masks share
H x W, which must equal the padded input size when ``input_size`` is given.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmcv.ops import point_sample
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

__all__ = ['sample_prompt_points', 'SampledPromptTokens', 'check_prompt_masks',
           'project_level_features', 'sample_visual_prompts']


def sample_prompt_points(
        masks: Tensor,
        max_points: int,
        generator: Optional[torch.Generator] = None
) -> Tuple[Tensor, Tensor]:
    """Draw up to ``max_points`` pixels of P prompt masks, equal mass each.

    Args:
        masks (Tensor): [P, H, W] bool prompt masks.
        max_points (int): Maximum number of points for all prompts together.
        generator (torch.Generator, optional): Random source.

    Returns:
        tuple: ``prompt_ids`` [N] long and ``points`` [N, 2] float
        normalised (y / H, x / W), sorted by (prompt, y, x); N =
        min(max_points, #pixels).
    """
    _, h, w = masks.shape
    nz = masks.nonzero()  # [K, 3] (prompt, y, x), row-major sorted
    if nz.shape[0] == 0:
        return nz.new_zeros((0, )), masks.new_zeros((0, 2), dtype=torch.float)
    ids = nz[:, 0]
    counts = torch.bincount(ids, minlength=masks.shape[0])
    num_nonempty = (counts > 0).sum()
    probs = 1.0 / (num_nonempty * counts[ids]).float()
    gen_device = generator.device if generator is not None else probs.device
    choice = torch.multinomial(
        probs.to(gen_device),
        num_samples=min(max_points, probs.numel()),
        replacement=False,
        generator=generator).sort()[0].to(nz.device)
    nz = nz[choice]
    scale = torch.tensor([h, w], device=nz.device)
    return nz[:, 0], nz[:, 1:] / scale


@dataclass
class SampledPromptTokens:
    """Output of the visual sampler (P = max #prompts over the batch).

    Attributes:
        pos_embeds (Tensor): [P, B, C] mean positive vector per prompt
            (-1 where a prompt is padded or has no point).
        neg_embeds (Tensor): [P, B, C] mean negative vector per prompt.
        level_tokens (list[Tensor]): per level [N_l, B, C] spatial tokens.
        level_padding (list[Tensor]): per level [B, N_l] bool, True = pad.
        level_prompt_ids (list[Tensor]): per level [B, N_l] long prompt id of
            every token, -1 = pad.
    """
    pos_embeds: Tensor
    neg_embeds: Tensor
    level_tokens: List[Tensor]
    level_padding: List[Tensor]
    level_prompt_ids: List[Tensor]

    @property
    def num_prompts(self) -> int:
        return self.pos_embeds.shape[0]

    def to_dict(self) -> Dict:
        """SEEM's ``refimg_tokens`` dict (``src_spatial_indices`` added)."""
        return dict(
            spatial_query_pos=self.pos_embeds,
            spatial_query_neg=self.neg_embeds,
            src_spatial_queries=list(self.level_tokens),
            src_spatial_maskings=list(self.level_padding),
            src_spatial_indices=list(self.level_prompt_ids))

    @classmethod
    def from_dict(cls, d: Dict, batch_size: int) -> 'SampledPromptTokens':
        """Inverse of :meth:`to_dict`; a batch of 1 is broadcast."""
        missing = {
            'spatial_query_pos', 'spatial_query_neg', 'src_spatial_queries',
            'src_spatial_maskings', 'src_spatial_indices'
        } - set(d)
        if missing:
            raise ValueError(
                f'refimg_tokens lacks {sorted(missing)}; build it with '
                'SEEMDecoder.encode_reference(...)')
        ref_b = d['spatial_query_pos'].shape[1]
        if ref_b not in (1, batch_size):
            raise ValueError(f'refimg_tokens have batch {ref_b}; expected 1 '
                             f'or the image batch {batch_size}')
        r = batch_size if ref_b == 1 else 1

        def rep_seq(x):  # [*, b, C]
            return x.repeat(1, r, 1)

        def rep_b(x):  # [b, *]
            return x.repeat(r, 1)

        return cls(
            rep_seq(d['spatial_query_pos']), rep_seq(d['spatial_query_neg']),
            [rep_seq(x) for x in d['src_spatial_queries']],
            [rep_b(x) for x in d['src_spatial_maskings']],
            [rep_b(x) for x in d['src_spatial_indices']])


def check_prompt_masks(pos_masks: Sequence[Tensor],
                       neg_masks: Optional[Sequence[Tensor]],
                       batch_size: int,
                       input_size: Optional[Tuple[int, int]] = None
                       ) -> Tuple[List[Tensor], List[Tensor]]:
    """Validate prompt masks (module doc) and return them as bool lists;
    missing negative masks become all-False."""
    if isinstance(pos_masks, Tensor):
        pos_masks = list(pos_masks.unbind(0)) if pos_masks.dim() == 4 \
            else [pos_masks]
    if neg_masks is None:
        neg_masks = [torch.zeros_like(m, dtype=torch.bool) for m in pos_masks]
    elif isinstance(neg_masks, Tensor):
        neg_masks = list(neg_masks.unbind(0)) if neg_masks.dim() == 4 \
            else [neg_masks]
    if len(pos_masks) != batch_size or len(neg_masks) != batch_size:
        raise ValueError(
            f'spatial_query_pos_mask/neg_mask must be lists of {batch_size} '
            f'(batch size) tensors [P_b, H, W], got {len(pos_masks)} and '
            f'{len(neg_masks)}')
    pos_out, neg_out = [], []
    hw = None
    for b, (p, n) in enumerate(zip(pos_masks, neg_masks)):
        if not isinstance(p, Tensor) or not isinstance(n, Tensor):
            raise TypeError('prompt masks must be tensors [P_b, H, W]')
        if p.dim() != 3 or p.shape != n.shape:
            raise ValueError(
                f'image {b}: positive mask {tuple(p.shape)} and negative '
                f'mask {tuple(n.shape)} must both be [P_b, H, W]')
        if p.shape[0] == 0:
            raise ValueError(f'image {b} has no visual prompt; drop the '
                             'spatial prompts or give each image one')
        hw = hw or tuple(p.shape[-2:])
        if tuple(p.shape[-2:]) != hw:
            raise ValueError('all prompt masks of a batch must share H x W '
                             f'(got {hw} and {tuple(p.shape[-2:])})')
        if input_size is not None and hw != tuple(input_size):
            raise ValueError(
                f'prompt masks are {hw} but the padded input image is '
                f'{tuple(input_size)}; rasterise prompts at the padded input '
                'resolution')
        p, n = p != 0, n != 0
        empty = (~p.flatten(1).any(1)).nonzero().flatten().tolist()
        if empty:
            neg_only = [i for i in empty if n[i].any()]
            raise ValueError(
                f'image {b}: prompt(s) {empty} have no positive pixel '
                f'(negative-only: {neg_only}); every visual prompt needs at '
                'least one positive pixel -- drop empty prompts, or turn a '
                'negative-only prompt into a negative mask of another prompt')
        pos_out.append(p)
        neg_out.append(n)
    return pos_out, neg_out


def _mean_vectors(masks: List[Tensor], mask_features: Tensor, max_len: int,
                  generator) -> Tensor:
    """[P, B, C] mean of ``mask_features`` over each prompt's points."""
    per_image = []
    for b, m in enumerate(masks):
        ids, pts = sample_prompt_points(m, max_len, generator)
        c = mask_features.shape[1]
        vec = mask_features.new_full((m.shape[0], c), -1.0)
        if ids.numel():
            feats = point_sample(
                mask_features[b:b + 1],
                pts.flip(-1)[None].to(mask_features.dtype),
                align_corners=True)[0].t()  # [n, C]
            sums = mask_features.new_zeros((m.shape[0], c))
            sums.index_add_(0, ids, feats)
            cnt = torch.bincount(ids, minlength=m.shape[0])
            has = cnt > 0
            vec[has] = sums[has] / cnt[has, None].to(sums.dtype)
        per_image.append(vec)
    return pad_sequence(per_image, padding_value=-1).nan_to_num()


def project_level_features(level_features: Sequence[Tensor],
                           mask_sptial_embed: Sequence[Tensor]
                           ) -> List[Tensor]:
    """Per level ``features @ mask_sptial_embed[l]`` -> [B, C, h_l, w_l],
    the maps the spatial tokens are sampled from (prompt-independent)."""
    return [(feats.permute(0, 2, 3, 1) @ w).permute(0, 3, 1, 2)
            for feats, w in zip(level_features, mask_sptial_embed)]


def sample_visual_prompts(pos_masks: List[Tensor],
                          neg_masks: List[Tensor],
                          mask_features: Tensor,
                          level_features: Sequence[Tensor],
                          mask_sptial_embed: Sequence[Tensor],
                          pn_indicator: Tensor,
                          max_spatial_len: Sequence[int],
                          generator: Optional[torch.Generator] = None,
                          projected_features: Optional[Sequence[Tensor]] = None
                          ) -> SampledPromptTokens:
    """Run the visual sampler.

    Args:
        pos_masks, neg_masks (list[Tensor]): B bool masks [P_b, H, W]
            (checked with :func:`check_prompt_masks`).
        mask_features (Tensor): [B, C, H/4, W/4] per-pixel embeddings.
        level_features (list[Tensor]): per decoder level [B, C, h_l, w_l]
            features after ``input_proj`` + ``level_embed``.
        mask_sptial_embed (list[Tensor]): per level [C, C] projection.
        pn_indicator (Tensor): [2, C] positive / negative indicator.
        max_spatial_len (list[int]): points per level; the last entry is
            used for the mean vectors.
        generator (torch.Generator, optional): Random source.
        projected_features (list[Tensor], optional): the
            :func:`project_level_features` of ``level_features`` (they only
            depend on the image: compute them once per image); computed here
            when None.

    Returns:
        SampledPromptTokens
    """
    pos_embeds = _mean_vectors(pos_masks, mask_features, max_spatial_len[-1],
                               generator)
    neg_embeds = _mean_vectors(neg_masks, mask_features, max_spatial_len[-1],
                               generator)
    if projected_features is None:
        projected_features = project_level_features(level_features,
                                                    mask_sptial_embed)
    if len(projected_features) != len(level_features):
        raise ValueError(
            f'{len(projected_features)} projected feature maps for '
            f'{len(level_features)} levels: project every level')
    tokens, paddings, prompt_ids = [], [], []
    for lvl, proj in enumerate(projected_features):
        pts, ids, sign = [], [], []
        for p, n in zip(pos_masks, neg_masks):
            p_ids, p_pts = sample_prompt_points(p, max_spatial_len[lvl],
                                                generator)
            n_ids, n_pts = sample_prompt_points(n, max_spatial_len[lvl],
                                                generator)
            pts.append(torch.cat([p_pts, n_pts]))
            ids.append(torch.cat([p_ids, n_ids]))
            sign.append(
                torch.cat([p_ids.new_ones(len(p_ids)),
                           -p_ids.new_ones(len(n_ids))]))
        pts = pad_sequence(pts, batch_first=True, padding_value=0)  # [B,N,2]
        ids = pad_sequence(ids, batch_first=True, padding_value=-1)
        sign = pad_sequence(sign, batch_first=True, padding_value=0)
        tok = point_sample(
            proj, pts.flip(-1).to(proj.dtype),
            align_corners=True).permute(2, 0, 1)  # [N, B, C]
        sign = sign.t()[..., None]  # [N, B, 1]
        tok = tok + (sign == 1).to(tok.dtype) * pn_indicator[0] \
            + (sign == -1).to(tok.dtype) * pn_indicator[1]
        tokens.append(tok)
        paddings.append(ids < 0)
        prompt_ids.append(ids)
    return SampledPromptTokens(pos_embeds, neg_embeds, tokens, paddings,
                               prompt_ids)
