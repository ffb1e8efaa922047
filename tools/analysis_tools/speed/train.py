"""``--modes train``: interleaved training iterations of SEEM and
Mask2Former on the same synthetic batch."""
import contextlib
import copy
import random
import statistics
import time
from typing import Dict, List

import numpy as np
import torch

from .common import (CudaPeakMemory, DEFAULT_TRAIN_CONFIG,
                     DEFAULT_TRAIN_M2F_CONFIG, TRAIN, TRAIN_EXPECTED,
                     TRAIN_RATIO, TRAIN_RATIO_TARGET, disable_pretrained, log,
                     model_name, release_memory, sync)
from .train_data import pack_train_sample, synthetic_scene  # noqa: F401


# ---------------------------------------------------------------------------
# train mode
# ---------------------------------------------------------------------------
def strip_batch_augments(model_cfg) -> bool:
    """Remove the data preprocessor's ``batch_augments`` (LSJ's
    ``BatchFixedSizePad`` to 1024) so every model gets the same input."""
    pre = model_cfg.get('data_preprocessor')
    if isinstance(pre, dict) and pre.get('batch_augments'):
        pre['batch_augments'] = None
        return True
    return False


@contextlib.contextmanager
def quiet_mmengine():
    """Silence mmengine's per-parameter log lines (``init_weights``,
    ``paramwise_options``, "skipped since its requires_grad=False") inside
    the block."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_trainable(config: str,
                    device: str,
                    kind: str,
                    args,
                    unfrozen: bool = False):
    """(model in train mode, optim wrapper from the config's
    ``optim_wrapper``) of a SEEM (``kind='seem'``) or mmdet Mask2Former
    training config; nothing is downloaded."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(config)
    model_cfg = disable_pretrained(copy.deepcopy(cfg.model))
    strip_batch_augments(model_cfg)
    if kind == 'seem':
        from mmseem.registry import MODELS
        if unfrozen:
            model_cfg['frozen_modules'] = ()
        model = MODELS.build(model_cfg)
        if not hasattr(model, 'predict_prompts') or \
                getattr(model, 'criterion', None) is None:
            raise ValueError(
                f'{config} is not a SEEM training config (a SEEM model with '
                'model.train_cfg.criterion): --modes train needs e.g. '
                'configs/seem/seem_focalt_coco.py in --configs')
    else:
        from mmdet.registry import MODELS as DET_MODELS
        from mmdet.utils import register_all_modules as det_register
        det_register(init_default_scope=False)
        model_cfg.setdefault('_scope_', 'mmdet')
        model = DET_MODELS.build(model_cfg)
    if 'optim_wrapper' not in cfg:
        raise ValueError(f'{config} has no optim_wrapper: --modes train '
                         'needs a training config')
    with quiet_mmengine():
        model.init_weights()  # as the runner does
    model = model.to(device).train()
    ow_cfg = copy.deepcopy(cfg.optim_wrapper)
    if args.amp:
        ow_cfg['type'] = 'AmpOptimWrapper'
        ow_cfg.setdefault('loss_scale', 'dynamic')
    with quiet_mmengine():
        optim_wrapper = build_optim_wrapper(model, ow_cfg)
    return model, optim_wrapper


def num_classes_of(model, kind: str):
    """(things, stuff) class counts of a model's training labels."""
    if kind == 'seem':
        crit = model.criterion
        things, stuff = crit.class_names if crit.class_names is not None \
            else model.get_vocabulary()
        return len(things), len(stuff)
    head = model.panoptic_head
    return head.num_things_classes, head.num_stuff_classes


def static_memory_mib(model, optim_wrapper) -> float:
    """Parameters + buffers + optimizer state, in MiB."""
    n = sum(p.numel() * p.element_size() for p in model.parameters())
    n += sum(b.numel() * b.element_size() for b in model.buffers())
    for state in optim_wrapper.optimizer.state.values():
        n += sum(v.numel() * v.element_size() for v in state.values()
                 if torch.is_tensor(v))
    return n / 2**20


class TrainSubject:
    """One model (and corrective-round setting) of the interleaved train
    benchmark: its timings, peaks and the SEEM rounds used."""

    def __init__(self,
                 name,
                 config,
                 kind,
                 model,
                 optim_wrapper,
                 rounds=None,
                 unfrozen=False):
        self.name, self.config, self.kind = name, config, kind
        self.model, self.optim_wrapper = model, optim_wrapper
        self.rounds, self.unfrozen = rounds, unfrozen
        self.times, self.peaks, self.losses = [], [], []
        self.rounds_used = []
        self.fresh = []  # one deep copy of the batch per iteration
        self._last_rounds = None

    def hook_rounds(self) -> None:
        """Make the prompt simulator return this subject's rounds (the
        recipe's seeded draw is still made, so the RNG stream is that of
        training) and record them."""
        sim = self.model.criterion.simulator
        if isinstance(self.rounds, int) and self.rounds > sim.max_rounds:
            raise ValueError(f'--rounds {self.rounds} exceeds max_rounds='
                             f'{sim.max_rounds} of the prompt simulator in '
                             f'{self.config}')
        draw = type(sim).num_rounds.__get__(sim)

        def num_rounds(generator=None):
            drawn = draw(generator)
            self._last_rounds = drawn if self.rounds == 'random' \
                else self.rounds
            return self._last_rounds

        self._num_rounds = num_rounds

    def step(self, k: int, seed: int):
        """One training iteration ``k`` (seeded); returns log_vars."""
        from mmengine.logging import MessageHub
        torch.manual_seed(seed * 100_003 + k)
        np.random.seed((seed * 100_003 + k) % 2**32)
        random.seed(seed * 100_003 + k)
        MessageHub.get_current_instance().update_info('iter', k)
        self._last_rounds = None
        sim = self.model.criterion.simulator if self.kind == 'seem' \
            else None
        if sim is not None:  # this subject's rounds while it runs
            sim.num_rounds = self._num_rounds
        try:
            return self.model.train_step(self.fresh.pop(), self.optim_wrapper)
        finally:
            if sim is not None:
                del sim.num_rounds

    def detail(self, batch_size: int) -> str:
        text = f'batch {batch_size}'
        if self.kind != 'seem':
            return text
        used = self.rounds_used
        if used and all(r is None for r in used):
            text += ', no spatial task'
        elif self.rounds == 'random':
            text += ', rounds drawn ' + ' '.join(str(r) for r in used)
        else:
            text += f", {self.rounds} round{'' if self.rounds == 1 else 's'}"
        if self.unfrozen:
            text += ', nothing frozen'
        return text


def expected_rows(seem_rows: List[Dict], batch_size: int) -> List[Dict]:
    """The recipe's expected iteration time for every SEEM model measured
    with both 0 and ``max_rounds`` forced rounds: the rounds are uniform in
    ``0..max_rounds`` and each round is one more no-grad decoder pass, so the
    expectation is the mean of the two (cost linear in the rounds)."""
    out = []
    keys = []
    for r in seem_rows:
        key = (r['config'], r['unfrozen'])
        if key not in keys:
            keys.append(key)
    for key in keys:
        same = {
            r['rounds']: r
            for r in seem_rows if (r['config'], r['unfrozen']) == key
        }
        top = next(iter(same.values()))['max_rounds']
        if 0 not in same or top not in same or top == 0:
            continue
        lo, hi = same[0], same[top]
        detail = f'batch {batch_size}, mean of 0 and {top} rounds'
        if lo['unfrozen']:
            detail += ', nothing frozen'
        out.append(
            dict(lo,
                 measurement=TRAIN_EXPECTED,
                 detail=detail,
                 rounds='expected',
                 rounds_used=[],
                 median_ms=(lo['median_ms'] + hi['median_ms']) / 2,
                 min_ms=(lo['min_ms'] + hi['min_ms']) / 2,
                 times_ms=[],
                 losses=[],
                 iteration_peak_mib=max(lo['iteration_peak_mib'],
                                        hi['iteration_peak_mib']),
                 peak_mem_mib=max(lo['peak_mem_mib'], hi['peak_mem_mib'])))
    return out


def bench_train(device: str, args, mem) -> List[Dict]:
    """Interleaved training iterations of the SEEM configs (one subject per
    ``--rounds`` value, plus ``--unfrozen``) and the Mask2Former baseline on
    the same batches; see the module doc."""
    configs = args.configs or [DEFAULT_TRAIN_CONFIG]
    m2f_config = None if args.no_m2f else (args.m2f_config
                                           or DEFAULT_TRAIN_M2F_CONFIG)
    subjects = []
    for config in configs:
        name = model_name(config)
        log(f'building {name} (train) on {device}')
        model, ow = build_trainable(config, device, 'seem', args)
        model.criterion.seed = args.seed
        for r in args.rounds:
            subjects.append(TrainSubject(name, config, 'seem', model, ow, r))
        if args.unfrozen:
            log(f'building {name} (train, nothing frozen) on {device}')
            model, ow = build_trainable(config,
                                        device,
                                        'seem',
                                        args,
                                        unfrozen=True)
            model.criterion.seed = args.seed
            subjects.append(
                TrainSubject(name,
                             config,
                             'seem',
                             model,
                             ow,
                             args.rounds[0],
                             unfrozen=True))
    if m2f_config:
        name = model_name(m2f_config)
        log(f'building {name} (train) on {device}')
        model, ow = build_trainable(m2f_config, device, 'm2f', args)
        subjects.append(TrainSubject(name, m2f_config, 'm2f', model, ow))
    for s in subjects:
        if s.kind == 'seem':
            s.hook_rounds()
    if isinstance(mem, CudaPeakMemory):
        mem = CudaPeakMemory(device, relative=True)

    rows = []
    n = args.warmup + args.repeat
    for size in args.sizes:
        scenes = [
            synthetic_scene(size, args.seed, b) for b in range(args.batch_size)
        ]
        for s in subjects:
            things, stuff = num_classes_of(s.model, s.kind)
            packed = [
                pack_train_sample(sc, things, stuff, s.kind == 'seem')
                for sc in scenes
            ]
            batch = dict(inputs=[p[0] for p in packed],
                         data_samples=[p[1] for p in packed])
            # the preprocessor pads the GT in place: one copy per iteration,
            # made before the timed region
            s.fresh = [copy.deepcopy(batch) for _ in range(n)]
            s.times, s.peaks, s.losses, s.rounds_used = [], [], [], []
        log(f'train {device} {size}px: {len(subjects)} subjects '
            f'interleaved, {args.warmup} warm-up + {args.repeat} timed '
            'iterations each')
        for k in range(n):
            for s in subjects:
                release_memory()
                timed = k >= args.warmup
                if timed:
                    mem.start()
                sync(device)
                t0 = time.perf_counter()
                log_vars = s.step(k, args.seed)
                sync(device)
                dt = (time.perf_counter() - t0) * 1e3
                peak = mem.stop() if timed else None
                if timed:
                    s.times.append(dt)
                    s.peaks.append(peak)
                    s.losses.append(float(log_vars['loss'].detach()))
                    s.rounds_used.append(s._last_rounds)
                rounds = '' if s._last_rounds is None \
                    else f', {s._last_rounds} rounds'
                log(f'  iter {k} {s.name}{rounds}: {dt:.0f} ms' +
                    ('' if timed else ' (warm-up)'))
        seem_rows, base = [], None
        for s in subjects:
            static = static_memory_mib(s.model, s.optim_wrapper)
            params = sum(p.numel() for p in s.model.parameters())
            trainable = sum(p.numel() for p in s.model.parameters()
                            if p.requires_grad)
            row = dict(mode='train',
                       device=device,
                       size=size,
                       model=s.name,
                       config=s.config,
                       measurement=TRAIN,
                       detail=s.detail(args.batch_size),
                       batch_size=args.batch_size,
                       median_ms=statistics.median(s.times),
                       min_ms=min(s.times),
                       times_ms=list(s.times),
                       losses=list(s.losses),
                       iteration_peak_mib=max(s.peaks),
                       static_mib=static,
                       peak_mem_mib=static + max(s.peaks),
                       params=params,
                       trainable_params=trainable,
                       baseline=s.kind != 'seem')
            if s.kind == 'seem':
                row.update(rounds=s.rounds,
                           rounds_used=list(s.rounds_used),
                           max_rounds=s.model.criterion.simulator.max_rounds,
                           frozen=list(getattr(s.model, 'frozen_modules', ())),
                           unfrozen=s.unfrozen)
                seem_rows.append(row)
            else:
                base = row
        seem_rows += expected_rows(seem_rows, args.batch_size)
        rows += seem_rows + ([base] if base else [])
        if base is not None:
            for row in seem_rows:
                ratio = row['median_ms'] / base['median_ms']
                rows.append(
                    dict(mode='train',
                         device=device,
                         size=size,
                         model=row['model'],
                         config=row['config'],
                         measurement=TRAIN_RATIO,
                         detail=row['detail'],
                         of=row['measurement'],
                         value=ratio,
                         unit='x',
                         baseline_model=base['model'],
                         target=f'<= {TRAIN_RATIO_TARGET:g} x',
                         meets_target=ratio <= TRAIN_RATIO_TARGET))
        for s in subjects:
            s.fresh = []
    del subjects
    release_memory()
    return rows
