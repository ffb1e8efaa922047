"""``--modes infer``: SEEM full forward / features / interactive round /
vocabulary, and mmdet Mask2Former's full forward."""
import copy
import sys
import time
from typing import Callable, Dict, List

import torch

from .common import (FEATS, FULL, ROUND, SHARE, SHARE_TARGET_PCT, VOCAB,
                     disable_pretrained, log, measure, measure_interleaved,
                     model_name, sync)


def build_seem(config: str, device: str, num_classes: int = 133):
    from mmengine.config import Config

    from mmseem.datasets.coco_panoptic_classes import (
        COCO_PANOPTIC_STUFF_CLASSES, COCO_PANOPTIC_THING_CLASSES)
    from mmseem.registry import MODELS
    cfg = Config.fromfile(config)
    model_cfg = disable_pretrained(copy.deepcopy(cfg.model))
    model = MODELS.build(model_cfg)
    if not hasattr(model, 'predict_prompts'):
        raise TypeError(f'{config} does not build a SEEM model '
                        f'(got {type(model).__name__}): pass SEEM configs '
                        'to --configs and Mask2Former to --m2f-config')
    things = COCO_PANOPTIC_THING_CLASSES[:num_classes]
    stuff = COCO_PANOPTIC_STUFF_CLASSES[:max(num_classes - len(things), 0)]
    model.set_vocabulary(things, stuff)
    return model.to(device).eval()


def build_m2f(config: str, device: str):
    from mmdet.registry import MODELS as DET_MODELS
    from mmdet.utils import register_all_modules as det_register
    from mmengine.config import Config
    det_register(init_default_scope=False)
    cfg = Config.fromfile(config)
    model_cfg = disable_pretrained(copy.deepcopy(cfg.model))
    model_cfg.setdefault('_scope_', 'mmdet')
    model = DET_MODELS.build(model_cfg)
    return model.to(device).eval()


def make_images(sizes: List[int], seed: int) -> Dict[int, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        s: torch.randint(0, 256, (3, s, s), generator=gen, dtype=torch.uint8)
        for s in sizes
    }


def preprocess(model, img: torch.Tensor, device: str):
    """uint8 CHW image -> the model's (inputs, data_samples)."""
    from mmdet.structures import DetDataSample
    h, w = img.shape[-2:]
    ds = DetDataSample(metainfo=dict(
        img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0)))
    data = model.data_preprocessor(
        dict(inputs=[img.to(device)], data_samples=[ds]), False)
    return data['inputs'], data['data_samples']


def click_prompts(size: int, num_prompts: int, num_clicks: int, seed: int):
    """``num_prompts`` prompts of ``num_clicks`` clicks (first positive,
    then alternating negative / positive) at seeded positions."""
    from mmseem.structures.visual_prompts import VisualPrompts
    gen = torch.Generator().manual_seed(seed)
    pts = (0.2 + 0.6 *
           torch.rand(num_prompts, num_clicks, 2, generator=gen)) * (size - 1)
    labels = [[1 if c % 2 == 0 else 0 for c in range(num_clicks)]
              for _ in range(num_prompts)]
    return VisualPrompts.from_points(points=pts.tolist(),
                                     labels=labels,
                                     image_size=(size, size))


# ---------------------------------------------------------------------------
# benchmark
# ---------------------------------------------------------------------------
def fresh_copies(samples, n: int):
    """An iterator over ``n`` deep copies of the data samples, made
    before the timed region (predict writes its results into them)."""
    return iter([copy.deepcopy(list(samples)) for _ in range(n)])


def bench_seem(config: str,
               device: str,
               images: Dict[int, torch.Tensor],
               args,
               mem,
               grad_ctx,
               baseline=None) -> List[Dict]:
    """SEEM rows; with ``baseline`` (a built Mask2Former and its name) the
    full forwards of both run interleaved (SEEM, Mask2Former, SEEM, ...) so
    that machine load hits them alike, and the baseline's row is added."""
    name = model_name(config)
    rows = []
    # built outside inference mode: parameters stay normal tensors (the
    # class-embedding cache reads their version counters)
    log(f'building {name} on {device}')
    model = build_seem(config, device, args.vocab_classes)
    with grad_ctx():
        vocab = sum(len(v) for v in model.get_vocabulary())
        prepare = getattr(model, '_prepare_vocabulary', None)
        if prepare is None:  # same call as the segmentor makes

            def prepare():
                things, stuff = model.get_vocabulary()
                model.lang_encoder.get_class_embeddings(things + stuff,
                                                        name='default',
                                                        add_bgd=True,
                                                        is_eval=True)

        model.lang_encoder.clear_cache()
        log(f'{name} {device}: vocabulary embedding ({vocab} classes)')
        # the computation is timed, not a read of the on-disk cache
        disk = getattr(model.lang_encoder, 'disk_cache', None)
        model.lang_encoder.disk_cache = None
        sync(device)
        t0 = time.perf_counter()
        prepare()
        sync(device)
        cold = (time.perf_counter() - t0) * 1e3
        model.lang_encoder.disk_cache = disk
        t0 = time.perf_counter()
        prepare()
        sync(device)
        cached = (time.perf_counter() - t0) * 1e3
        for size, img in images.items():
            inputs, samples = preprocess(model, img, device)

            n = args.warmup + args.repeat
            fresh = fresh_copies(samples, n)
            tag = f'{name} {device} {size}px'
            full = lambda: model.predict(inputs, next(fresh))  # noqa: E731
            if baseline is None:
                res_full = measure(full, device, args.warmup, args.repeat, mem,
                                   f'{tag} {FULL}')
            else:
                base_model, base_name, base_config = baseline
                b_inputs, b_samples = preprocess(base_model, img, device)
                b_fresh = fresh_copies(b_samples, n)
                res_full, res_base = measure_interleaved(
                    [
                        full,
                        lambda: base_model.predict(b_inputs, next(b_fresh))
                    ], device, args.warmup, args.repeat, mem,
                    [f'{tag} {FULL}', f'{base_name} {device} {size}px {FULL}'])
                rows.append(
                    dict(device=device,
                         size=size,
                         model=base_name,
                         config=base_config,
                         measurement=FULL,
                         baseline=True,
                         interleaved_with=name,
                         **res_base))
            res_feat = measure(lambda: model.extract_feat(inputs), device,
                               args.warmup, args.repeat, mem, f'{tag} {FEATS}')
            feats = model.extract_feat(inputs)
            prompt_sample = copy.deepcopy(samples[0])
            prompt_sample.visual_prompts = click_prompts(
                size, args.prompts, args.clicks, args.seed)

            fresh = fresh_copies([prompt_sample], n + 2)

            def one_round():
                model.predict_prompts(feats, next(fresh))

            res_round = measure(one_round, device, args.warmup, args.repeat,
                                mem, f'{tag} {ROUND}')
            base = dict(device=device, size=size, model=name, config=config)
            rows.append(dict(base, measurement=FULL, **res_full))
            rows.append(dict(base, measurement=FEATS, **res_feat))
            rows.append(
                dict(base,
                     measurement=ROUND,
                     prompts=args.prompts,
                     clicks=args.clicks,
                     **res_round))
            share = 100.0 * res_round['median_ms'] / res_full['median_ms']
            rows.append(
                dict(base,
                     measurement=SHARE,
                     value=share,
                     unit='%',
                     target=f'<= {SHARE_TARGET_PCT:g} %',
                     meets_target=share <= SHARE_TARGET_PCT))
            rows.append(
                dict(base,
                     measurement=VOCAB,
                     median_ms=cold,
                     min_ms=cold,
                     times_ms=[cold],
                     cached_lookup_ms=cached,
                     num_classes=vocab))
            if args.profile:
                profile_round(one_round, device, name, size)
            del feats
    del model
    return rows


def bench_m2f(config: str, device: str, images: Dict[int, torch.Tensor], args,
              mem, grad_ctx) -> List[Dict]:
    name = model_name(config)
    rows = []
    log(f'building {name} on {device}')
    model = build_m2f(config, device)
    with grad_ctx():
        for size, img in images.items():
            inputs, samples = preprocess(model, img, device)

            fresh = fresh_copies(samples, args.warmup + args.repeat)
            res = measure(lambda: model.predict(inputs, next(fresh)), device,
                          args.warmup, args.repeat, mem,
                          f'{name} {device} {size}px {FULL}')
            rows.append(
                dict(device=device,
                     size=size,
                     model=name,
                     config=config,
                     measurement=FULL,
                     baseline=True,
                     **res))
    del model
    return rows


def profile_round(fn: Callable,
                  device: str,
                  name: str,
                  size: int,
                  top: int = 25) -> None:
    """torch.profiler table of one interactive round (self time)."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        acts.append(ProfilerActivity.CUDA)
    with profile(activities=acts, record_shapes=True) as prof:
        for _ in range(2):
            fn()
        sync(device)
    key = 'self_cuda_time_total' if device.startswith(
        'cuda') else 'self_cpu_time_total'
    print(
        f'\n### profile: {ROUND}, {name}, {device}, {size} px '
        '(2 rounds)\n',
        file=sys.stderr)
    print(prof.key_averages(group_by_input_shape=True).table(sort_by=key,
                                                             row_limit=top),
          file=sys.stderr)
