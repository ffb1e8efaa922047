"""Export SEEM's prompt path on cached image features to ONNX.

    python tools/deployment/export_onnx.py CONFIG OUT.onnx
        [--checkpoint CKPT] [--height 512] [--width 512] [--memory]
        [--max-points N] [--opset 17] [--verify] [--seed 0]

The exported graph is one interactive round for one visual prompt (a click,
a box, a scribble ...) on features computed once per image by PyTorch
(``SEEM.extract_feat``), as SAM exports its prompt encoder + mask decoder:

inputs
    the cached image features of a padded ``H x W`` image:
    ``mask_features`` [1, C, H/4, W/4] and the decoder's prepared features
    (``SEEMDecoder.prepare_features``, computed once per image): per level
    (coarsest first) ``src_l`` / ``pos_l`` [h_l*w_l, 1, C] and the visual
    sampler's projected maps ``projected_l`` [1, C, h_l, w_l], per decoder
    layer its cross-attention keys / values ``key_i`` / ``value_i``;
    the visual sampler's chosen points -- ``points_0..2`` [1, L_l, 2]
    normalised ``(y, x)`` with ``signs_0..2`` [1, L_l] (+1 positive, -1
    negative, 0 padding; L_l = 2 x ``max_spatial_len[l]`` or 2 x
    ``--max-points``), ``mean_points``
    [1, 2, L, 2] with ``mean_valid`` [1, 2, L] for the mean positive /
    negative vectors; ``spatial_query_index`` [1, S] (the object queries the
    S spatial queries start from); with ``--memory`` also ``prev_mask``
    [1, 1, H/4, W/4], the previous round's mask logits (memory prompts).
outputs
    ``mask_logits`` [1, 1, H/4, W/4] of the best of the S spatial queries
    and its caption embedding ``caption`` [1, dim_proj] (its label is the
    softmax over the vocabulary's class embeddings, as
    ``SEEM.predict_prompts``).

In the graph: the visual sampler's feature reading (point sampling of the
projected level maps and of ``mask_features``, positive / negative
indicators, mean vectors), the masked attention decoder with spatial
queries, tokens and memories, and the
best-of-S selection. Outside it (:func:`click_inputs`): the image
features (PyTorch, once per image) and the random choice of
the points (``sample_prompt_points``, SEEM's sampler, the same draws as
``SEEM.predict_prompts`` with the same generator) and of the spatial
queries -- ONNX has no sampling without replacement. Fixed-length padded
token inputs keep the graph static; padding is blocked by the attention
masks, so it does not change the outputs.

The output file is never overwritten (remove it first); it is written to a
temporary file and linked into place.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Dict, List, Optional
from unittest import mock

import torch
from torch import Tensor, nn

try:  # run from a source checkout without `pip install -e .`
    import mmseem  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

NUM_LEVELS = 3


class SEEMClickGraph(nn.Module):
    """One prompt round of a SEEM model as a tensor-in / tensor-out module
    (module doc). ``memory``: the graph takes ``prev_mask``."""

    def __init__(self, model, memory: bool = False):
        super().__init__()
        self.model = model.eval()
        self.memory = memory

    def input_names(self) -> List[str]:
        layers = self.model.predictor.num_layers
        names = ['mask_features']
        for part in ('src', 'pos', 'projected'):
            names += [f'{part}_{i}' for i in range(NUM_LEVELS)]
        names += [f'key_{i}' for i in range(layers)]
        names += [f'value_{i}' for i in range(layers)]
        names += [f'points_{i}' for i in range(NUM_LEVELS)]
        names += [f'signs_{i}' for i in range(NUM_LEVELS)]
        names += ['mean_points', 'mean_valid', 'spatial_query_index']
        return names + (['prev_mask'] if self.memory else [])

    def _tokens(self, mask_features, projected, points, signs, mean_points,
                mean_valid) -> Dict:
        from mmcv.ops import point_sample
        dec = self.model.predictor
        ind = dec.pn_indicator.weight
        q, masking, ids = [], [], []
        for proj, pts, sign in zip(projected, points, signs):
            tok = point_sample(proj, pts.flip(-1).to(proj.dtype),
                               align_corners=True).permute(2, 0, 1)
            s = sign.t()[..., None]  # [L, 1, 1]
            tok = tok + (s > 0).to(tok.dtype) * ind[0] + \
                (s < 0).to(tok.dtype) * ind[1]
            q.append(tok)
            masking.append(sign == 0)
            ids.append(torch.where(sign == 0, -1, 0).long())
        means = []
        for k in range(2):  # positive, negative
            f = point_sample(mask_features,
                             mean_points[:, k].flip(-1).to(
                                 mask_features.dtype),
                             align_corners=True)  # [1, C, L]
            valid = mean_valid[:, k][:, None].to(f.dtype)  # [1, 1, L]
            cnt = valid.sum(-1)
            vec = (f * valid).sum(-1) / cnt.clamp(min=1)
            means.append(torch.where(cnt > 0, vec, -torch.ones_like(vec))
                         [None])  # [1(P), 1(B), C]
        return dict(spatial_query_pos=means[0], spatial_query_neg=means[1],
                    src_spatial_queries=q, src_spatial_maskings=masking,
                    src_spatial_indices=ids)

    def forward(self, *inputs: Tensor):
        """Inputs in the order of :meth:`input_names`."""
        from mmseem.models.heads.seem_decoder import PreparedFeatures
        x = dict(zip(self.input_names(), inputs))
        dec = self.model.predictor
        lv = range(NUM_LEVELS)
        projected = [x[f'projected_{i}'] for i in lv]
        prepared = PreparedFeatures(
            src=[x[f'src_{i}'] for i in lv],
            pos=[x[f'pos_{i}'] for i in lv],
            sizes=[tuple(p.shape[-2:]) for p in projected],
            maps=None,  # read by the visual sampler only (not run here)
            projected=projected,
            memory_kv=[(x[f'key_{i}'], x[f'value_{i}'])
                       for i in range(dec.num_layers)])
        mask_features = x['mask_features']
        pts0, pts1, pts2 = (x[f'points_{i}'] for i in lv)
        sg0, sg1, sg2 = (x[f'signs_{i}'] for i in lv)
        mean_points, mean_valid = x['mean_points'], x['mean_valid']
        spatial_query_index = x['spatial_query_index']
        prev_mask = x.get('prev_mask')
        tokens = self._tokens(mask_features, projected, [pts0, pts1, pts2],
                              [sg0, sg1, sg2], mean_points, mean_valid)
        extra = dict(refimg_tokens=tokens, spatial_only=True,
                     spatial_query_index=spatial_query_index)
        if self.memory:
            extra['prev_mask'] = prev_mask
        # one prompt: every memory prompt belongs to it (SEEM draws that
        # with torch.multinomial over one class, which ONNX cannot export)
        from mmseem.models.heads import seem_decoder
        with mock.patch.object(seem_decoder, 'assign_memories',
                               _one_prompt_memories):
            out = self.model.sem_seg_head.decode(
                mask_features, None, 'interactive', extra, prepared=prepared)
        masks, index = dec.select_spatial_masks(out)
        caption = torch.gather(
            out['pred_stexts'], 1,
            index[..., None].expand(-1, -1, out['pred_stexts'].shape[-1]))
        return masks, caption[:, 0]


def _one_prompt_memories(num_prompts, num_memories, generator=None,
                         device=None):
    """``assign_memories`` for one prompt: all memories to prompt 0 (what
    the random draw gives with one prompt)."""
    if num_prompts != 1:
        raise ValueError('the exported graph takes one prompt')
    return torch.zeros(num_memories, dtype=torch.long, device=device)


def _pad_points(pts, length, sign):
    n = pts.shape[0]
    p = pts.new_zeros((1, length, 2))
    s = pts.new_zeros((1, length))
    p[0, :n] = pts
    s[0, :n] = sign
    return p, s


def click_inputs(model, feats: Dict, pos_mask: Tensor, neg_mask: Tensor,
                 generator: Optional[torch.Generator] = None,
                 prev_mask: Optional[Tensor] = None,
                 max_points: Optional[int] = None) -> Dict[str, Tensor]:
    """Graph inputs of one prompt: ``pos_mask`` / ``neg_mask`` [1, H, W]
    bool at the padded input size; the points and spatial queries are drawn
    from ``generator`` in SEEM's order (mean vectors, then per level), so
    they equal those of ``SEEM.predict_prompts`` with the same generator.

    ``max_points``: pad the point inputs to this many positive (and as many
    negative) points per level instead of ``max_spatial_len`` (shorter
    sequences, a faster graph for clicks); a prompt with more sampled
    points is refused."""
    from mmseem.models.layers.visual_sampler import sample_prompt_points
    dec = model.predictor
    lens = dec.max_spatial_len
    cap = [ln if max_points is None else min(ln, int(max_points))
           for ln in lens]

    def check(n, limit):
        if n > limit:
            raise ValueError(
                f'the prompt has {n} sampled points but the graph takes '
                f'{limit}: export with a larger --max-points (or none) for '
                'large prompts')

    mean_pts = pos_mask.new_zeros((1, 2, cap[-1], 2), dtype=torch.float)
    mean_valid = pos_mask.new_zeros((1, 2, cap[-1]), dtype=torch.float)
    for k, m in enumerate((pos_mask, neg_mask)):
        _, pts = sample_prompt_points(m, lens[-1], generator)
        check(len(pts), cap[-1])
        mean_pts[0, k, :len(pts)] = pts
        mean_valid[0, k, :len(pts)] = 1
    out = dict(mask_features=feats['mask_features'])
    prepared = feats.get('prepared')
    if prepared is None or prepared.memory_kv is None:
        with torch.no_grad():
            prepared = dec.prepare_features(feats['multi_scale_features'],
                                            cache=True)
    for i in range(NUM_LEVELS):
        out[f'src_{i}'] = prepared.src[i]
        out[f'pos_{i}'] = prepared.pos[i]
        out[f'projected_{i}'] = prepared.projected[i]
    for i, (k, v) in enumerate(prepared.memory_kv):
        out[f'key_{i}'], out[f'value_{i}'] = k, v
    for lvl in range(NUM_LEVELS):
        _, p = sample_prompt_points(pos_mask, lens[lvl], generator)
        _, n = sample_prompt_points(neg_mask, lens[lvl], generator)
        check(max(len(p), len(n)), cap[lvl])
        pts = torch.cat([p, n])
        sign = torch.cat([p.new_ones(len(p)), -p.new_ones(len(n))])
        # up to L_l positive and L_l negative points
        out[f'points_{lvl}'], out[f'signs_{lvl}'] = _pad_points(
            pts, 2 * cap[lvl], sign)
    out['mean_points'], out['mean_valid'] = mean_pts, mean_valid
    out['spatial_query_index'] = dec.draw_spatial_query_index(
        1, generator)[None].to(pos_mask.device)
    if prev_mask is not None:
        out['prev_mask'] = prev_mask
    return out


def export(model, path: str, memory: bool, example: Dict[str, Tensor],
           opset: int = 17) -> None:
    """Export :class:`SEEMClickGraph` of ``model`` to ``path`` (refused if
    it exists; written to a temporary file and linked into place)."""
    if osp.exists(path):
        raise FileExistsError(
            f'{path} exists; refusing to overwrite it: remove it or choose '
            'another output path')
    graph = SEEMClickGraph(model, memory).eval()
    names = graph.input_names()
    missing = [n for n in names if n not in example]
    if missing:
        raise ValueError(f'example inputs lack {missing}')
    args = tuple(example[n] for n in names)
    out_dir = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix='.onnx.tmp', dir=out_dir)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(
                graph, args, tmp, input_names=names,
                output_names=['mask_logits', 'caption'],
                opset_version=opset, dynamo=False)
        os.link(tmp, path)  # fails instead of overwriting a new file
    finally:
        os.unlink(tmp)


def run_onnx(path: str, inputs: Dict[str, Tensor]):
    """An onnxruntime CPU session of the graph (as many intra-op threads as
    torch uses) and its feed of ``inputs``."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    sess = ort.InferenceSession(path, opts,
                                providers=['CPUExecutionProvider'])
    feed = {i.name: inputs[i.name].cpu().numpy()
            for i in sess.get_inputs()}
    return sess, feed


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Export SEEM\'s prompt path (cached features) to ONNX')
    p.add_argument('config', help='mmseem SEEM config')
    p.add_argument('out', help='output .onnx file (never overwritten)')
    p.add_argument('--checkpoint', help='weights (random if omitted)')
    p.add_argument('--height', type=int, default=512,
                   help='padded input height (multiple of 32)')
    p.add_argument('--width', type=int, default=512,
                   help='padded input width (multiple of 32)')
    p.add_argument('--memory', action='store_true',
                   help='export the graph with memory prompts (prev_mask)')
    p.add_argument('--max-points', type=int, default=None,
                   help='points per level and sign the graph takes (default '
                   'the model\'s max_spatial_len: any prompt; e.g. 64 for '
                   'clicks: a much shorter, faster graph)')
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--verify', action='store_true',
                   help='run onnxruntime on a click, compare with PyTorch '
                   'and time one click in both')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if osp.exists(args.out):
        print(f'error: {args.out} exists; refusing to overwrite it (remove '
              'it or choose another output path)', file=sys.stderr)
        return 1
    if args.height % 32 or args.width % 32:
        print('error: --height/--width must be multiples of 32 (the padded '
              'input size)', file=sys.stderr)
        return 1
    import mmseem.models  # noqa: F401
    from mmengine.config import Config
    from mmseem.registry import MODELS
    cfg = Config.fromfile(args.config)
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model).eval()
    if args.checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    with torch.no_grad():
        feats = model.extract_feat(
            torch.randn(1, 3, args.height, args.width))
    pos = torch.zeros(1, args.height, args.width, dtype=torch.bool)
    cy, cx = args.height // 2, args.width // 2
    pos[0, cy - 1:cy + 2, cx - 1:cx + 2] = True  # a 3 x 3 click
    neg = torch.zeros_like(pos)
    h4, w4 = feats['mask_features'].shape[-2:]
    prev = torch.randn(1, 1, h4, w4) if args.memory else None
    gen = torch.Generator().manual_seed(args.seed)
    inputs = click_inputs(model, feats, pos, neg, gen, prev,
                          args.max_points)
    export(model, args.out, args.memory, inputs, args.opset)
    print(f'wrote {args.out}')
    if args.verify:
        print(verify(model, args.out, inputs, args.memory))
    return 0


def verify(model, path: str, inputs: Dict[str, Tensor], memory: bool,
           repeats: int = 5) -> Dict[str, float]:
    """Max abs difference of onnxruntime vs PyTorch on ``inputs`` and the
    median time of one click in both (seconds)."""
    graph = SEEMClickGraph(model, memory).eval()
    args = [inputs[n] for n in graph.input_names()]
    sess, feed = run_onnx(path, inputs)
    times_pt, times_ort = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        with torch.no_grad():
            ref = graph(*args)
        times_pt.append(time.perf_counter() - t)
        t = time.perf_counter()
        got = sess.run(None, feed)
        times_ort.append(time.perf_counter() - t)
    diff = max(float((torch.from_numpy(g) - r).abs().max())
               for g, r in zip(got, ref))
    return dict(max_abs_diff=diff,
                torch_click_s=sorted(times_pt)[repeats // 2],
                onnxruntime_click_s=sorted(times_ort)[repeats // 2])


if __name__ == '__main__':
    sys.exit(main())
