"""Record (and compare) what a full-size SEEM Focal-T model outputs.

The guard of the architecture refactor (issue 11): a seeded random Focal-T
SEEM whose normalisation weights are offset by +1 (so that queries stay
distinct) runs, through public entry points only, on two images:

* ``generated``: a deterministic numpy image (always available, CI);
* ``coco``: the real COCO val2017 sample ``000000439180.jpg`` from
  ``../shared/data/coco_panoptic_sample`` (skipped where absent),

and we record

* ``panoptic``: :meth:`SEEM.predict` with ``test_cfg.task='panoptic'``:
  ``pred_logits`` / ``pred_masks`` of every prediction set of the decoder
  (captured with a forward hook on ``sem_seg_head.predictor``), the
  panoptic segments (id, label, area), the semantic map histogram,
  ``seg_logits`` and the instances;
* ``interactive``: three rounds of :class:`SEEMPredictor` on the image with
  two objects (round 1: one click each; round 2: + a negative click, round
  3: + a positive click; rounds 2 and 3 with the memory prompts): the
  decoder's spatial outputs of every prediction set, ``prev_mask`` and the
  returned masks / scores / labels;
* ``grounding``: :meth:`SEEMPredictor.predict_text` with two sentences: the
  grounding outputs of every set and the returned masks / scores.

Every float tensor is stored as statistics (mean, std, min, max, mean |x|)
plus a seeded sample of its values, integers (areas, labels, ids) exactly.
Nothing here is imported by mmseem.

Regenerate the fixture (only when an output change is intended, and say so
in the commit message)::

    OMP_NUM_THREADS=1 python tests/regression/seem_outputs.py --write
"""
import argparse
import json
import os
import os.path as osp
import sys
import zlib
from typing import Dict, List, Optional

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURE = osp.join(ROOT, 'tests', 'data', 'regression',
                   'seem_focalt_outputs.json')
COCO_IMAGE = osp.join('coco_panoptic_sample', 'sample_data', 'input_images',
                      '000000439180.jpg')
CONFIG = osp.join(ROOT, 'configs', '_base_', 'models', 'seem_focalt.py')

THINGS = ['person', 'dog', 'car', 'chair', 'bottle']
STUFF = ['sky', 'grass', 'wall', 'floor']
SENTENCES = ['the person on the left', 'a green patch of grass']
NUM_SAMPLES = 24  # seeded value samples per tensor
# comparison of float values: |a - b| <= ATOL_SCALE * scale + RTOL * |b|,
# scale = max(std, mean |x|) of the recorded tensor (mask logits are O(10),
# scores O(0.1): one absolute tolerance would not fit both). Measured: the
# same run on 2 threads instead of 1 (another reduction order) moves values
# by <= 2e-5 x scale; a +1e-3 change of one weight of mask_embed or of the
# patch embedding moves thousands of values by > 1e-4 x scale.
RTOL = 1e-4
ATOL_SCALE = 1e-4
# pixel areas / counts (thresholded masks): a float-noise flip of a pixel at
# a threshold may move an area by this fraction of the image
AREA_TOL = 2e-3
# exp(logit_scale): random class / caption embeddings are nearly orthogonal
# (cosine ~ 0.04), so a large scale is needed for distinct class scores
LOGIT_SCALE = 1000.0


# ----------------------------------------------------------------------
# model
# ----------------------------------------------------------------------
def _is_norm(module) -> bool:
    from torch import nn
    return isinstance(module, (nn.LayerNorm, nn.GroupNorm,
                               nn.modules.batchnorm._BatchNorm))


def seeded_model():
    """Full-size Focal-T SEEM, every parameter drawn from a generator
    seeded by the parameter's name (so the values do not depend on the
    order modules are built in): weights ``N(0, 1/fan_in)``, embeddings
    (queries, tokens) ``N(0, 1)``, vectors
    ``N(0, 0.02^2)``, normalisation weights ``1 + N(0, 0.02^2)`` and the
    0-d ``logit_scale`` ``log(LOGIT_SCALE)``."""
    import mmseem.models  # noqa: F401
    from mmengine.config import Config

    from mmseem.registry import MODELS
    cfg = Config.fromfile(CONFIG)
    # one template per class keeps the vocabulary encoding cheap on CPU
    cfg.model.sem_seg_head.predictor.lang_encoder.prompt_templates = (
        '{}', )
    cfg.model.test_cfg.update(
        object_mask_threshold=0.2, overlap_threshold=0.5, seed=0)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    norms = {
        f'{name}.weight'
        for name, m in model.named_modules() if _is_norm(m)
    }
    embeddings = {
        f'{name}.weight'
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Embedding)
    }
    with torch.no_grad():
        for name, p in model.named_parameters():
            g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
            if p.dim() == 0:
                p.fill_(float(np.log(LOGIT_SCALE)))
                continue
            if name in embeddings:
                std = 1.0  # nn.Embedding's own init: distinct queries
            elif p.dim() >= 2:
                std = 1.0 / float(np.sqrt(np.prod(p.shape[1:])))
            else:
                std = 0.02
            p.copy_(torch.randn(p.shape, generator=g) * std)
            if name in norms:
                p.add_(1.0)
    model.eval()
    model.set_vocabulary(THINGS, STUFF)
    return model


# ----------------------------------------------------------------------
# images
# ----------------------------------------------------------------------
def generated_image() -> np.ndarray:
    """A deterministic 200 x 264 RGB image: smooth background, a few
    coloured discs and boxes, mild noise (numpy, seed 0)."""
    rng = np.random.default_rng(0)
    h, w = 200, 264
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([60 + 80 * yy / h, 120 + 60 * xx / w,
                    200 - 100 * yy / h], -1)
    for _ in range(4):
        cy, cx = rng.uniform(30, h - 30), rng.uniform(30, w - 30)
        r = rng.uniform(15, 40)
        img[(yy - cy)**2 + (xx - cx)**2 < r * r] = rng.uniform(0, 255, 3)
    for _ in range(3):
        y0, x0 = int(rng.uniform(0, h - 50)), int(rng.uniform(0, w - 60))
        img[y0:y0 + int(rng.uniform(20, 50)),
            x0:x0 + int(rng.uniform(20, 60))] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def coco_image(shared_data: str) -> np.ndarray:
    """The COCO sample, resized to 320 x 240 (RGB)."""
    import mmcv
    bgr = mmcv.imread(osp.join(shared_data, COCO_IMAGE))
    bgr = mmcv.imresize(bgr, (320, 240))
    return np.ascontiguousarray(bgr[..., ::-1])


def clicks(rgb: np.ndarray):
    """Two objects; rounds of clicks in (x, y) pixels."""
    h, w = rgb.shape[:2]
    a, b = (0.3 * w, 0.55 * h), (0.7 * w, 0.4 * h)
    r1 = dict(points=[[a], [b]], point_labels=[[1], [1]])
    r2 = dict(points=[[a, (0.1 * w, 0.9 * h)], [b, (0.9 * w, 0.1 * h)]],
              point_labels=[[1, 0], [1, 0]])
    r3 = dict(points=[[a, (0.1 * w, 0.9 * h), (0.35 * w, 0.6 * h)],
                      [b, (0.9 * w, 0.1 * h), (0.65 * w, 0.45 * h)]],
              point_labels=[[1, 0, 1], [1, 0, 1]])
    return [r1, r2, r3]


# ----------------------------------------------------------------------
# recording
# ----------------------------------------------------------------------
def _f(x) -> float:
    return float(f'{float(x):.7g}')


def describe(name: str, t: torch.Tensor, samples: int = NUM_SAMPLES) -> Dict:
    """Statistics + a seeded sample (indices from ``crc32(name)``)."""
    t = t.detach().float().cpu().flatten()
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    n = t.numel()
    idx = torch.randint(0, n, (min(samples, n), ), generator=g) if n else \
        torch.zeros(0, dtype=torch.long)
    out = dict(numel=n)
    if n:
        out.update(
            mean=_f(t.mean()), std=_f(t.std()) if n > 1 else 0.0,
            min=_f(t.min()), max=_f(t.max()), absmean=_f(t.abs().mean()),
            samples=[_f(v) for v in t[idx].tolist()])
    return out


class DecoderTap:
    """Forward hook on ``sem_seg_head.predictor``: keeps every output."""

    def __init__(self, model):
        self.outputs: List[Dict] = []
        self.handle = model.sem_seg_head.predictor.register_forward_hook(
            lambda mod, args, out: self.outputs.append(out))

    def take(self) -> Dict:
        assert len(self.outputs) == 1, \
            f'expected one decoder call, got {len(self.outputs)}'
        out = self.outputs.pop()
        return out

    def close(self):
        self.handle.remove()


def _sets(prefix: str, out: Dict, keys) -> Dict:
    rec = {}
    sets = list(out.get('aux_outputs', [])) + [out]
    for i, s in enumerate(sets):
        for k in keys:
            if k in s:
                name = f'{prefix}/set{i}/{k}'
                rec[name] = describe(name, s[k])
    return rec


def record_panoptic(model, rgb: np.ndarray, tap: DecoderTap) -> Dict:
    """The panoptic pass, run in float64 (the model is cast there and
    back; its float32 weights are exact in float64). In float32 this seeded
    model's panoptic pass is chaotic: a last-ulp difference between CPUs
    (an AMD EPYC against the machine that recorded the fixture) flips one
    bit of a masked-attention mask and moves decoder layers 5-9 by ~1e-3,
    beyond the tolerance; in float64 both machines agree with the fixture.
    The interactive and grounding passes stay in float32 (they agreed)."""
    from mmdet.structures import DetDataSample
    h, w = rgb.shape[:2]
    bgr = torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1])).permute(
        2, 0, 1).contiguous()
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    data = model.data_preprocessor(
        dict(inputs=[bgr], data_samples=[sample]), False)
    model.double()
    try:
        with torch.no_grad():
            res = model.predict(data['inputs'].double(),
                                data['data_samples'])[0]
    finally:
        model.float()
    rec = _sets('panoptic', tap.take(), ('pred_logits', 'pred_masks'))
    pan = res.pred_panoptic_seg.sem_seg[0].long()
    ids, areas = pan.unique(return_counts=True)
    rec['panoptic/segments'] = dict(
        ids=ids.tolist(), areas=areas.tolist(), pixels=int(pan.numel()))
    sem = res.pred_sem_seg.data[0].long()
    rec['panoptic/semantic_histogram'] = dict(
        counts=torch.bincount(sem.flatten(),
                              minlength=len(THINGS + STUFF)).tolist(),
        pixels=int(sem.numel()))
    rec['panoptic/seg_logits'] = describe('panoptic/seg_logits',
                                          res.seg_logits.data)
    ins = res.pred_instances
    rec['panoptic/instances'] = dict(
        labels=ins.labels.tolist(),
        areas=ins.masks.flatten(1).sum(1).tolist(),
        pixels=int(h * w))
    rec['panoptic/instance_scores'] = describe(
        'panoptic/instance_scores', ins.scores, samples=len(ins.scores))
    return rec


SPATIAL_KEYS = ('pred_smasks', 'pred_stexts', 'pred_smaskembs',
                'pred_pspatials', 'pred_nspatials')


def record_interactive(model, rgb: np.ndarray, tap: DecoderTap) -> Dict:
    from mmseem.apis import SEEMPredictor
    predictor = SEEMPredictor(model, test_pipeline=[])
    predictor.set_image(rgb)
    rec = {}
    for r, prompt in enumerate(clicks(rgb), 1):
        out = predictor.predict(**prompt)
        dec = tap.take()
        rec.update(_sets(f'interactive/round{r}', dec, SPATIAL_KEYS))
        name = f'interactive/round{r}/prev_mask'
        rec[name] = describe(name, dec['prev_mask'])
        name = f'interactive/round{r}/logits'
        rec[name] = describe(name, torch.from_numpy(out['logits']))
        name = f'interactive/round{r}/scores'
        rec[name] = describe(name, torch.from_numpy(out['scores']))
        rec[f'interactive/round{r}/result'] = dict(
            labels=out['labels'].tolist(),
            areas=out['masks'].reshape(len(out['masks']), -1).sum(1).tolist(),
            pixels=int(rgb.shape[0] * rgb.shape[1]))
    # the text path on the same cached features
    out = predictor.predict_text(SENTENCES)
    dec = tap.take()
    rec.update(
        _sets('grounding', dec, ('pred_gmasks', 'pred_gtexts')))
    rec['grounding/scores'] = describe('grounding/scores',
                                       torch.from_numpy(out['scores']))
    rec['grounding/result'] = dict(
        areas=out['masks'].reshape(len(out['masks']), -1).sum(1).tolist(),
        pixels=int(rgb.shape[0] * rgb.shape[1]))
    return rec


def record(model, rgb: np.ndarray) -> Dict:
    """All quantities for one image (deterministic, one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tap = DecoderTap(model)
    try:
        rec = record_panoptic(model, rgb, tap)
        rec.update(record_interactive(model, rgb, tap))
    finally:
        tap.close()
        torch.set_num_threads(threads)
    return rec


# ----------------------------------------------------------------------
# comparison
# ----------------------------------------------------------------------
def compare(expected: Dict, actual: Dict) -> List[str]:
    """Human-readable differences beyond float noise (empty = same)."""
    errors = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            errors.append(f'{name}: missing in the outputs')
            continue
        if name not in expected:
            errors.append(f'{name}: not in the fixture (new output?)')
            continue
        e, a = expected[name], actual[name]
        if 'numel' in e:
            errors += _compare_values(name, e, a)
        else:
            errors += _compare_discrete(name, e, a)
    return errors


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= ATOL_SCALE * scale + RTOL * abs(b) + 1e-12


def _compare_values(name, e, a) -> List[str]:
    if e['numel'] != a['numel']:
        return [f"{name}: {a['numel']} values, expected {e['numel']}"]
    if not e['numel']:
        return []
    scale = max(e['std'], e['absmean'], 1e-6)
    errs = []
    for k in ('mean', 'std', 'min', 'max', 'absmean'):
        if not _close(a[k], e[k], scale):
            errs.append(f'{name}.{k}: {a[k]!r} != {e[k]!r}')
    bad = [(i, x, y) for i, (x, y) in enumerate(zip(a['samples'],
                                                     e['samples']))
           if not _close(x, y, scale)]
    if bad:
        i, x, y = bad[0]
        errs.append(f'{name}: {len(bad)}/{len(e["samples"])} sampled values '
                    f'differ, e.g. [{i}] {x!r} != {y!r}')
    return errs


def _compare_discrete(name, e, a) -> List[str]:
    errs = []
    pixels = e.get('pixels', 0)
    for k, ev in e.items():
        av = a.get(k)
        if k in ('areas', 'counts'):
            if av is None or len(av) != len(ev):
                errs.append(f'{name}.{k}: {av} != {ev}')
                continue
            diff = max((abs(x - y) for x, y in zip(av, ev)), default=0)
            if diff > AREA_TOL * pixels:
                errs.append(f'{name}.{k}: {av} != {ev} (max diff {diff} '
                            f'pixels > {AREA_TOL} x {pixels})')
        elif av != ev:
            errs.append(f'{name}.{k}: {av} != {ev}')
    return errs


# ----------------------------------------------------------------------
# fixture
# ----------------------------------------------------------------------
def shared_data_dir() -> Optional[str]:
    d = osp.join(osp.dirname(ROOT), 'shared', 'data')
    return d if osp.isdir(d) else None


def images(shared_data: Optional[str]) -> Dict[str, np.ndarray]:
    out = dict(generated=generated_image())
    if shared_data is not None:
        out['coco'] = coco_image(shared_data)
    return out


def load_fixture(path: str = FIXTURE) -> Dict:
    with open(path) as f:
        return json.load(f)


def write_fixture(path: str = FIXTURE, only=None) -> Dict:
    """Record every image's outputs and write them atomically. ``only``:
    names of quantities (prefixes) to re-record; the others are kept from
    the current fixture and must be unchanged."""
    shared = shared_data_dir()
    if shared is None:
        raise SystemExit('../shared/data is missing: the fixture needs both '
                         'the generated and the COCO image')
    model = seeded_model()
    cases = {k: record(model, img) for k, img in images(shared).items()}
    if only:
        old = load_fixture(path)['cases']
        for case, rec in cases.items():
            keep = {k: v for k, v in old[case].items()
                    if not any(k.startswith(p) for p in only)}
            errs = compare(keep, {k: rec[k] for k in keep})
            if errs:
                raise SystemExit('quantities outside --only changed:\n' +
                                 '\n'.join(errs[:20]))
            rec.update(keep)
    data = dict(
        about='tests/regression/seem_outputs.py: seeded random SEEM Focal-T '
        '(norm weights +1); regenerate only for intended output changes',
        torch=torch.__version__,
        tolerance=dict(rtol=RTOL, atol_times_scale=ATOL_SCALE,
                       area_fraction=AREA_TOL),
        cases=cases)
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=0, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--write', action='store_true',
                        help='(re)write the fixture')
    parser.add_argument('--only', nargs='*', default=None,
                        help='with --write: re-record only these quantity '
                        'prefixes (e.g. interactive/round2); fail if any '
                        'other quantity moved')
    args = parser.parse_args(argv)
    if args.write:
        data = write_fixture(only=args.only)
        print(f'wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes, '
              f"{sum(len(c) for c in data['cases'].values())} quantities)")
        return
    fixture = load_fixture()['cases']
    shared = shared_data_dir()
    model = seeded_model()
    for case, img in images(shared).items():
        errs = compare(fixture[case], record(model, img))
        print(case, 'OK' if not errs else '\n'.join(errs))


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    main()
