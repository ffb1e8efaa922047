"""Benchmark SEEM inference speed against mmdet's Mask2Former.

    python tools/analysis_tools/benchmark_speed.py \
        [--configs configs/seem/seem_focalt-v1_coco-panoptic.py ...] \
        [--m2f-config PATH | --no-m2f] [--sizes 512 1024] \
        [--device cpu cuda] [--threads N] [--warmup 2] [--repeat 5] \
        [--prompts 1] [--clicks 3] [--vocab-classes 133] [--profile] \
        [--out results.json]

A benchmark tool, not a test. In one process, on the same seeded images
(square, ``size`` x ``size``, uint8 noise), with random weights (nothing is
downloaded) and models in eval mode under ``torch.inference_mode`` (or
``torch.no_grad`` with ``--no-inference-mode``), it reports the **median**
(and min) wall time of ``--repeat`` runs after ``--warmup`` runs of:

* ``full forward (panoptic)``: SEEM ``model.predict`` on a preprocessed
  batch (backbone + pixel decoder + decoder + panoptic / semantic /
  instance post-processing) with the 133 COCO panoptic classes as the
  vocabulary (``--vocab-classes K``: the first K, for quick smoke runs);
* ``features (backbone + pixel decoder)``: SEEM ``model.extract_feat``, the
  part an interactive session computes once per image;
* ``interactive round (cached features)``: SEEM
  ``model.predict_prompts(feats, [sample])`` with ``--prompts`` prompts of
  ``--clicks`` clicks each (the first click of a prompt positive, the rest
  alternating negative / positive), features computed once outside the
  timed region: only the prompt path (decoder + mask selection + labels);
* ``interactive share of full``: interactive round / full forward, in %,
  against the target <= 5 %;
* ``vocabulary embedding (one-off)``: the class embeddings of the
  vocabulary (prompt-template ensemble through the text encoder), timed
  once from a cold cache before the warm-up; they are cached per
  vocabulary, so every later forward reuses them;
* ``full forward (panoptic)`` of mmdet's Mask2Former (default: mmdet's
  ``mask2former_r50_8xb2-lsj-50e_coco-panoptic``, built from mmdet's
  installed configs with every ``Pretrained`` ``init_cfg`` disabled) and
  ``ratio SEEM / Mask2Former`` (target <= 1: SEEM no slower).

Peak memory (MiB) over the timed runs: on CUDA ``torch.cuda.
max_memory_allocated`` after ``reset_peak_memory_stats`` (weights and
activations); on CPU the peak resident set size during the timed runs minus
the RSS just before them (activations and workspaces; the weights are
already resident). The CPU peak is the kernel's ``VmHWM`` reset through
``/proc/self/clear_refs`` where Linux allows it, else ``psutil`` RSS
sampled every 2 ms, else ``resource.getrusage`` ``ru_maxrss`` (a lower
bound: it cannot be reset). The method used is printed under the table and
stored in the JSON.

Output: a machine line (CPU model, cores, threads, load average, torch
version, devices), a markdown table on stdout, and with ``--out`` a JSON
file with every individual time.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import resource
import statistics
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_SEEM_CONFIG = osp.join(REPO_ROOT, 'configs', 'seem',
                               'seem_focalt-v1_coco-panoptic.py')
M2F_CONFIG_NAME = 'mask2former_r50_8xb2-lsj-50e_coco-panoptic.py'
SHARE_TARGET_PCT = 5.0
RATIO_TARGET = 1.0

COLUMNS = ('device', 'size', 'model', 'measurement', 'median', 'min',
           'peak mem (MiB)', 'target')

# measurement names (also the JSON ``measurement`` keys)
FULL = 'full forward (panoptic)'
FEATS = 'features (backbone + pixel decoder)'
ROUND = 'interactive round (cached features)'
SHARE = 'interactive share of full'
VOCAB = 'vocabulary embedding (one-off)'
RATIO = 'ratio SEEM / Mask2Former'


# ---------------------------------------------------------------------------
# machine / memory helpers
# ---------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def machine_info(devices: List[str]) -> Dict:
    info = dict(cpu=cpu_model(),
                cores=os.cpu_count(),
                threads=torch.get_num_threads(),
                torch=torch.__version__,
                python=platform.python_version(),
                devices=list(devices))
    try:
        info['loadavg'] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        info['loadavg'] = None
    if 'cuda' in devices:
        info['cuda_device'] = torch.cuda.get_device_name(0)
        info['cuda'] = torch.version.cuda
    return info


def machine_line(info: Dict) -> str:
    parts = [
        f"CPU: {info['cpu']}", f"cores: {info['cores']}",
        f"torch threads: {info['threads']}", f"torch {info['torch']}",
        f"devices: {', '.join(info['devices'])}"
    ]
    if info.get('cuda_device'):
        parts.append(f"GPU: {info['cuda_device']} (CUDA {info['cuda']})")
    if info.get('loadavg'):
        load = ' '.join(str(x) for x in info['loadavg'])
        if info.get('loadavg_end'):
            load += ' -> ' + ' '.join(str(x) for x in info['loadavg_end'])
        parts.append(f'load avg (1/5/15 min, start -> end): {load}')
    return ' | '.join(parts)


def _rss_kib() -> Optional[int]:
    """Current and peak RSS from /proc/self/status, in KiB."""
    vals = {}
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(('VmRSS:', 'VmHWM:')):
                    key, val = line.split(':', 1)
                    vals[key] = int(val.split()[0])
    except OSError:
        return None
    return vals


def _reset_hwm() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class CpuPeakMemory:
    """Peak RSS minus the RSS at :meth:`start`, in MiB (see module doc)."""

    def __init__(self):
        vals = _rss_kib()
        if vals and 'VmHWM' in vals and _reset_hwm():
            self.method = 'VmHWM reset via /proc/self/clear_refs'
        else:
            try:
                import psutil  # noqa: F401
                self.method = 'psutil RSS sampled every 2 ms'
            except ImportError:
                self.method = ('resource.getrusage ru_maxrss delta '
                               '(lower bound)')
        self._thread = None

    def _rss_bytes(self) -> int:
        if self.method.startswith('VmHWM'):
            return _rss_kib()['VmRSS'] * 1024
        if self.method.startswith('psutil'):
            import psutil
            return psutil.Process().memory_info().rss
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def start(self) -> None:
        self._base = self._rss_bytes()
        self._peak = self._base
        if self.method.startswith('VmHWM'):
            _reset_hwm()
        elif self.method.startswith('psutil'):
            self._stop = threading.Event()

            def poll():
                while not self._stop.is_set():
                    self._peak = max(self._peak, self._rss_bytes())
                    time.sleep(0.002)

            self._thread = threading.Thread(target=poll, daemon=True)
            self._thread.start()

    def stop(self) -> float:
        if self.method.startswith('VmHWM'):
            peak = _rss_kib()['VmHWM'] * 1024
        elif self.method.startswith('psutil'):
            self._stop.set()
            self._thread.join()
            peak = max(self._peak, self._rss_bytes())
        else:
            peak = self._rss_bytes()
        return max(peak - self._base, 0) / 2**20


class CudaPeakMemory:
    method = 'torch.cuda.max_memory_allocated'

    def __init__(self, device):
        self.device = torch.device(device)

    def start(self) -> None:
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)

    def stop(self) -> float:
        torch.cuda.synchronize(self.device)
        return torch.cuda.max_memory_allocated(self.device) / 2**20


def log(msg: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f'[benchmark_speed {time.strftime("%H:%M:%S")}] {msg}',
          file=sys.stderr,
          flush=True)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def measure(fn: Callable,
            device: str,
            warmup: int,
            repeat: int,
            mem,
            label: str = '') -> Dict:
    """Median / min wall time (ms) of ``repeat`` calls after ``warmup``,
    and the peak memory over the timed calls."""
    log(f'{label}: {warmup} warm-up + {repeat} timed runs ...')
    for _ in range(warmup):
        fn()
    sync(device)
    mem.start()
    times = []
    for _ in range(repeat):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    peak = mem.stop()
    log(f'{label}: median {statistics.median(times):.1f} ms')
    return dict(median_ms=statistics.median(times),
                min_ms=min(times),
                times_ms=times,
                peak_mem_mib=peak)


# ---------------------------------------------------------------------------
# models and inputs
# ---------------------------------------------------------------------------
def default_m2f_config() -> str:
    import mmdet
    root = osp.dirname(mmdet.__file__)
    for sub in (('.mim', 'configs'), ('configs', )):
        path = osp.join(root, *sub, 'mask2former', M2F_CONFIG_NAME)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'mmdet config {M2F_CONFIG_NAME} not found under {root}/.mim/configs'
        ': reinstall mmdet with `pip install mmdet` (it ships the configs) '
        'or pass --m2f-config PATH, or --no-m2f to skip the baseline')


def disable_pretrained(cfg):
    """Drop every ``Pretrained`` ``init_cfg`` and ``pretrained=`` key in a
    (nested) model config so that building and init download nothing."""
    if isinstance(cfg, dict):
        if 'pretrained' in cfg:
            cfg['pretrained'] = None
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            cfg['init_cfg'] = None
        elif isinstance(init, list):
            cfg['init_cfg'] = [
                c for c in init
                if not (isinstance(c, dict) and c.get('type') == 'Pretrained')
            ] or None
        for v in cfg.values():
            disable_pretrained(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            disable_pretrained(v)
    return cfg


def model_name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


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


def bench_seem(config: str, device: str, images: Dict[int, torch.Tensor], args,
               mem, grad_ctx) -> List[Dict]:
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
        sync(device)
        t0 = time.perf_counter()
        prepare()
        sync(device)
        cold = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        prepare()
        sync(device)
        cached = (time.perf_counter() - t0) * 1e3
        for size, img in images.items():
            inputs, samples = preprocess(model, img, device)

            n = args.warmup + args.repeat
            fresh = fresh_copies(samples, n)
            tag = f'{name} {device} {size}px'
            res_full = measure(lambda: model.predict(inputs, next(fresh)),
                               device, args.warmup, args.repeat, mem,
                               f'{tag} {FULL}')
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


def add_ratios(rows: List[Dict]) -> List[Dict]:
    base = {
        (r['device'], r['size']): r
        for r in rows if r.get('baseline') and r['measurement'] == FULL
    }
    out = []
    for r in rows:
        out.append(r)
        if r.get('baseline') or r['measurement'] != FULL:
            continue
        b = base.get((r['device'], r['size']))
        if b is None:
            continue
        ratio = r['median_ms'] / b['median_ms']
        out.append(
            dict(device=r['device'],
                 size=r['size'],
                 model=r['model'],
                 config=r['config'],
                 measurement=RATIO,
                 value=ratio,
                 unit='x',
                 baseline_model=b['model'],
                 target=f'<= {RATIO_TARGET:g} x',
                 meets_target=ratio <= RATIO_TARGET))
    return out


def _fmt_ms(v: float) -> str:
    return f'{v:.1f} ms'


def format_table(rows: List[Dict]) -> str:
    lines = [
        '| ' + ' | '.join(COLUMNS) + ' |',
        '|' + '|'.join('---' for _ in COLUMNS) + '|'
    ]
    for r in rows:
        if 'value' in r:
            median = (f"{r['value']:.1f} %"
                      if r['unit'] == '%' else f"{r['value']:.2f} x")
            low = '-'
        else:
            median, low = _fmt_ms(r['median_ms']), _fmt_ms(r['min_ms'])
        mem = (f"{r['peak_mem_mib']:.0f}"
               if r.get('peak_mem_mib') is not None else '-')
        target = '-'
        if 'meets_target' in r:
            target = f"{r['target']}: {'yes' if r['meets_target'] else 'NO'}"
        measurement = r['measurement']
        if r['measurement'] == ROUND:
            measurement += f" ({r['prompts']} prompt x {r['clicks']} clicks)"
        elif r['measurement'] == VOCAB:
            measurement += (f" ({r['num_classes']} classes; cached: "
                            f"{r['cached_lookup_ms']:.1f} ms)")
        elif r['measurement'] == RATIO:
            measurement += f" ({r['baseline_model']})"
        cells = [
            r['device'],
            str(r['size']), r['model'], measurement, median, low, mem, target
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark SEEM (full forward, interactive round) '
        "against mmdet's Mask2Former.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__)
    parser.add_argument('--configs',
                        nargs='+',
                        default=[DEFAULT_SEEM_CONFIG],
                        help='SEEM configs (default: Focal-T v1 COCO)')
    parser.add_argument('--m2f-config',
                        default=None,
                        help=f"Mask2Former config (default: mmdet's "
                        f'{M2F_CONFIG_NAME})')
    parser.add_argument('--no-m2f',
                        action='store_true',
                        help='skip the Mask2Former baseline')
    parser.add_argument('--sizes',
                        nargs='+',
                        type=int,
                        default=[512, 1024],
                        help='square input sizes in pixels')
    parser.add_argument('--device',
                        nargs='+',
                        default=None,
                        help='devices (default: cpu, plus cuda if '
                        'available)')
    parser.add_argument('--threads',
                        type=int,
                        default=None,
                        help='torch.set_num_threads (default: all cores)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--prompts',
                        type=int,
                        default=1,
                        help='visual prompts in the interactive round')
    parser.add_argument('--clicks',
                        type=int,
                        default=3,
                        help='clicks per prompt')
    parser.add_argument('--vocab-classes',
                        type=int,
                        default=133,
                        help='SEEM vocabulary: the first K COCO panoptic '
                        'classes (things first; default all 133)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-inference-mode',
                        action='store_true',
                        help='torch.no_grad instead of inference_mode')
    parser.add_argument('--profile',
                        action='store_true',
                        help='print a torch.profiler table of the '
                        'interactive round to stderr')
    parser.add_argument('--out', default=None, help='JSON results file')
    args = parser.parse_args(argv)
    if args.warmup < 0 or args.repeat < 1:
        parser.error('--warmup must be >= 0 and --repeat >= 1')
    if any(s < 32 for s in args.sizes):
        parser.error(f'--sizes must be >= 32 px, got {args.sizes}')
    if args.prompts < 1 or args.clicks < 1:
        parser.error('--prompts and --clicks must be >= 1')
    if not 1 <= args.vocab_classes <= 133:
        parser.error('--vocab-classes must be in [1, 133]')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    if args.device is None:
        args.device = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for d in args.device:
        if d.startswith('cuda') and not torch.cuda.is_available():
            parser.error(f'--device {d}: CUDA is not available in this '
                         'torch build / machine; use --device cpu')
        if not d.startswith(('cpu', 'cuda')):
            parser.error(f'--device {d}: use cpu or cuda[:N]')
    for c in args.configs + ([args.m2f_config] if args.m2f_config else []):
        if not osp.isfile(c):
            parser.error(f'config not found: {c}')
    return args


def main(argv=None) -> Dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    sys.path.insert(0, REPO_ROOT)
    from mmseem.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    m2f_config = None
    if not args.no_m2f:
        m2f_config = args.m2f_config or default_m2f_config()
    grad_ctx = torch.no_grad if args.no_inference_mode \
        else torch.inference_mode

    info = machine_info(args.device)
    images = make_images(args.sizes, args.seed)
    rows, mem_methods = [], {}
    for device in args.device:
        mem = CudaPeakMemory(device) if device.startswith('cuda') \
            else CpuPeakMemory()
        mem_methods[device] = mem.method
        for config in args.configs:
            rows += bench_seem(config, device, images, args, mem, grad_ctx)
        if m2f_config:
            rows += bench_m2f(m2f_config, device, images, args, mem, grad_ctx)
    order = {
        m: i
        for i, m in enumerate((FULL, FEATS, ROUND, SHARE, VOCAB, RATIO))
    }
    rows = add_ratios(rows)

    def sort_key(r):
        cfg = r['config']
        return (args.device.index(r['device']), r['size'],
                bool(r.get('baseline')),
                args.configs.index(cfg) if cfg in args.configs else 0,
                order[r['measurement']])

    rows.sort(key=sort_key)
    info['loadavg_end'] = machine_info(args.device).get('loadavg')
    table = format_table(rows)
    grad_mode = 'no_grad' if args.no_inference_mode else 'inference_mode'
    print(machine_line(info))
    print(f'warm-up {args.warmup}, repeat {args.repeat} (median, min); '
          f'grad mode: {grad_mode}; random weights; seeded uint8 noise '
          'images')
    print()
    print(table)
    print()
    for device, method in mem_methods.items():
        what = ('peak during the timed runs' if device.startswith('cuda') else
                'peak RSS during the timed runs minus RSS before them')
        print(f'peak mem on {device}: {what} ({method})')
    result = dict(machine=info,
                  settings=dict(configs=args.configs,
                                m2f_config=m2f_config,
                                sizes=args.sizes,
                                devices=args.device,
                                threads=torch.get_num_threads(),
                                warmup=args.warmup,
                                repeat=args.repeat,
                                prompts=args.prompts,
                                clicks=args.clicks,
                                seed=args.seed,
                                vocab_classes=args.vocab_classes,
                                grad_mode=grad_mode),
                  memory_methods=mem_methods,
                  columns=list(COLUMNS),
                  results=rows,
                  table=table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.out}')
    return result


if __name__ == '__main__':
    main()
