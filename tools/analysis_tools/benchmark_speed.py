"""Benchmark SEEM against mmdet's Mask2Former: inference, training
iterations and video propagation.

    python tools/analysis_tools/benchmark_speed.py \
        [--modes infer train video] \
        [--configs SEEM_CONFIG ...] [--m2f-config PATH | --no-m2f] \
        [--sizes 512 1024] [--device cpu cuda] [--threads N] \
        [--warmup 2] [--repeat 5] [--seed 0] [--out results.json] \
        infer: [--prompts 1] [--clicks 3] [--vocab-classes 133] [--profile]
        train: [--batch-size 1] [--rounds random 0 5] [--unfrozen] [--amp]
        video: [--video-dir DIR | synthetic] [--video-scale S]
               [--video-reference first|previous]

A benchmark tool, not a test. Everything runs in one process with random
weights (nothing is downloaded) and reports the **median** (and min) wall
time of ``--repeat`` runs after ``--warmup`` runs.

``--modes infer`` (default). On the same seeded images (square, ``size`` x
``size``, uint8 noise), models in eval mode under ``torch.inference_mode``
(or ``torch.no_grad`` with ``--no-inference-mode``):

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

``--modes train``: one training iteration is mmengine's
``model.train_step(data, optim_wrapper)``: data preprocessor + ``model.loss``
+ backward + optimizer step (each config's ``optim_wrapper``: AdamW, its
lr / paramwise multipliers / gradient clipping; ``--amp`` on CUDA:
``AmpOptimWrapper``). Default models: SEEM Focal-T with the official
training recipe (``configs/seem/seem_focalt_coco.py``: generic + grounding +
spatial losses, ``InteractivePromptSimulator`` with 10 instances and 0-5
no-grad corrective rounds, 12544 points, backbone / pixel decoder /
language encoder frozen as configured) against mmdet's Mask2Former on the
same FocalNet-T backbone
(``configs/baselines/mask2former_focalt_8xb2-lsj-50e_coco-panoptic.py``, all
parameters trained, backbone lr x0.1). Both get the SAME batch of
``--batch-size`` seeded synthetic scenes at each ``--sizes`` (mmseem's
synthetic generator: things + stuff panoptic GT, labels mapped into each
model's classes, plus one referring sentence per image that SEEM's
grounding task uses); the data preprocessors' fixed-size batch padding
(LSJ ``BatchFixedSizePad``) is removed so both see the same input tensor.
The models run **interleaved** (SEEM, Mask2Former, SEEM, ...) so that
machine load hits them alike; iteration ``k`` of every model uses the seeds
``(--seed, k)`` (prompt simulation, point sampling, drop path). SEEM's
random number of corrective rounds (``--rounds``): ``random`` keeps the
recipe's draw (uniform in 0..max_rounds from the loss's seeded RNG; the
rounds drawn for the timed iterations are reported), an integer forces that
many rounds (e.g. ``5``: the worst case); several values give several SEEM
rows sharing one model. With both ``0`` and ``max_rounds``, ``train
iteration, expected over the rounds`` is the mean of their medians: the
recipe's expected cost (rounds uniform, each one more no-grad decoder
pass). ``--unfrozen`` adds a SEEM row with nothing frozen (every parameter
trained, as Mask2Former). Rows: ``train iteration`` per model and ``ratio
SEEM / Mask2Former (train)`` against the target <= 1.3.

``--modes video``: SEEM video object propagation
(:func:`mmseem.apis.propagate_video`, the first frame and its mask as the
reference prompt of every frame) on the DAVIS sequence in ``--video-dir``
(default ``../shared/data/davis_car_shadow``: ``JPEGImages/*.jpg`` +
``Annotations/*.png``; seeded synthetic frames with a moving disc when it is
absent or with ``--video-dir synthetic``), frames resized as the video
config's test pipeline does (``--video-scale`` overrides). Per frame is
timed what ``propagate_video`` does for it (resize, preprocessing,
``predict_refimg``); rows: ``video frame`` (median ms over ``--repeat``
frames after ``--warmup`` frames) and ``video frames per second``.

Peak memory (MiB) over the timed runs: on CUDA ``torch.cuda.
max_memory_allocated`` after ``reset_peak_memory_stats`` (weights and
activations); on CPU the peak resident set size during the timed runs minus
the RSS just before them (activations and workspaces; the weights are
already resident). Train rows: the model's static memory (parameters,
buffers, optimizer state, counted from the tensors) plus the largest peak
of one iteration over the memory before it (RSS on CPU, allocated on
CUDA; activations, gradients, workspaces), so models held side by side do
not count each other. The CPU peak is the kernel's ``VmHWM`` reset through
``/proc/self/clear_refs`` where Linux allows it, else ``psutil`` RSS
sampled every 2 ms, else ``resource.getrusage`` ``ru_maxrss`` (a lower
bound: it cannot be reset). The method used is printed under the table and
stored in the JSON.

Output: a machine line (CPU model, cores, threads, load average, torch
version, devices), a markdown table on stdout, and with ``--out`` a JSON
file with every individual time.
"""
import argparse
import contextlib
import copy
import ctypes
import gc
import glob
import json
import os
import os.path as osp
import platform
import random
import resource
import statistics
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_SEEM_CONFIG = osp.join(REPO_ROOT, 'configs', 'seem',
                               'seem_focalt-v1_coco-panoptic.py')
DEFAULT_TRAIN_CONFIG = osp.join(REPO_ROOT, 'configs', 'seem',
                                'seem_focalt_coco.py')
DEFAULT_TRAIN_M2F_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'baselines',
    'mask2former_focalt_8xb2-lsj-50e_coco-panoptic.py')
DEFAULT_VIDEO_CONFIG = osp.join(REPO_ROOT, 'configs', 'seem',
                                'seem_focalt-v1_davis.py')
DEFAULT_VIDEO_DIR = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data',
                             'davis_car_shadow')
M2F_CONFIG_NAME = 'mask2former_r50_8xb2-lsj-50e_coco-panoptic.py'
SHARE_TARGET_PCT = 5.0
RATIO_TARGET = 1.0
TRAIN_RATIO_TARGET = 1.3
MODES = ('infer', 'train', 'video')

COLUMNS = ('device', 'size', 'model', 'measurement', 'median', 'min',
           'peak mem (MiB)', 'target')

# measurement names (also the JSON ``measurement`` keys)
FULL = 'full forward (panoptic)'
FEATS = 'features (backbone + pixel decoder)'
ROUND = 'interactive round (cached features)'
SHARE = 'interactive share of full'
VOCAB = 'vocabulary embedding (one-off)'
RATIO = 'ratio SEEM / Mask2Former'
TRAIN = 'train iteration'
TRAIN_EXPECTED = 'train iteration, expected over the rounds'
TRAIN_RATIO = 'ratio SEEM / Mask2Former (train)'
VIDEO = 'video frame (propagation)'
FPS = 'video frames per second'


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
    """``max_memory_allocated`` since :meth:`start`, in MiB; with
    ``relative=True`` minus the memory allocated at :meth:`start`."""
    method = 'torch.cuda.max_memory_allocated'

    def __init__(self, device, relative: bool = False):
        self.device = torch.device(device)
        self.relative = relative
        self._base = 0

    def start(self) -> None:
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        self._base = torch.cuda.memory_allocated(self.device) \
            if self.relative else 0

    def stop(self) -> float:
        torch.cuda.synchronize(self.device)
        peak = torch.cuda.max_memory_allocated(self.device) - self._base
        return max(peak, 0) / 2**20


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc
    ``malloc_trim``), so that the RSS before a measured call holds only live
    memory."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


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


# ---------------------------------------------------------------------------
# train mode
# ---------------------------------------------------------------------------
def synthetic_scene(size: int, seed: int, index: int) -> Dict:
    """One seeded scene of mmseem's synthetic generator
    (:mod:`mmseem.datasets.synthetic`) at ``size`` x ``size``: the BGR image,
    the visible thing masks with their shape index, the stuff masks and one
    referring sentence that singles out one object (as the generator writes
    them), with that object's index."""
    from mmseem.datasets.synthetic import make_scene
    scene = make_scene(size, seed, index, 'train')
    objs = scene.objects
    if scene.sentences:
        text_ind, text = scene.sentences[0]
    elif objs:
        text_ind, text = 0, f'the {objs[0].color} {objs[0].shape}'
    else:
        text_ind, text = None, None
    return dict(
        img=np.ascontiguousarray(scene.image[..., ::-1]),  # RGB -> BGR
        things=[o.mask for o in objs],
        thing_ids=[o.label for o in objs],
        stuff=scene.stuff_masks(),
        text=text,
        text_ind=text_ind)


def pack_train_sample(scene: Dict, num_things: int, num_stuff: int,
                      with_text: bool):
    """A scene -> (uint8 CHW tensor, DetDataSample) as mmdet's
    ``LoadPanopticAnnotations`` + ``PackDetInputs`` (+ ``PackSEEMInputs``'
    ``gt_texts`` / ``gt_text_inds``) give them. Thing ``k`` gets label
    ``k % num_things``, stuff ``s`` label ``num_things + s % num_stuff``
    (ignored when the model has no stuff classes)."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData, PixelData
    if num_things < 1:
        raise ValueError('--modes train needs models with thing classes '
                         f'(got {num_things})')
    img = scene['img']
    h, w = img.shape[:2]
    labels = [t % num_things for t in scene['thing_ids']]
    sem = np.full((h, w), 255, np.int64)
    for m, lab in zip(scene['things'], labels):
        sem[m] = lab
    if num_stuff:
        for s, m in scene['stuff']:
            sem[m] = num_things + s % num_stuff
    masks = np.stack(scene['things']).astype(np.uint8) if labels \
        else np.zeros((0, h, w), np.uint8)
    boxes = []
    for m in scene['things']:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    sample = DetDataSample(metainfo=dict(
        img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
        flip=False, flip_direction=None))
    sample.gt_instances = InstanceData(
        labels=torch.tensor(labels, dtype=torch.long),
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        masks=BitmapMasks(masks, h, w))
    sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(sem[None]))
    if with_text and scene['text'] is not None:
        sample.gt_texts = [scene['text']]
        sample.gt_text_inds = torch.tensor([scene['text_ind']])
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return inputs, sample


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


def build_trainable(config: str, device: str, kind: str, args,
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

    def __init__(self, name, config, kind, model, optim_wrapper,
                 rounds=None, unfrozen=False):
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
            raise ValueError(
                f'--rounds {self.rounds} exceeds max_rounds='
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
            return self.model.train_step(self.fresh.pop(),
                                         self.optim_wrapper)
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
        same = {r['rounds']: r for r in seem_rows
                if (r['config'], r['unfrozen']) == key}
        top = next(iter(same.values()))['max_rounds']
        if 0 not in same or top not in same or top == 0:
            continue
        lo, hi = same[0], same[top]
        detail = f'batch {batch_size}, mean of 0 and {top} rounds'
        if lo['unfrozen']:
            detail += ', nothing frozen'
        out.append(
            dict(lo, measurement=TRAIN_EXPECTED, detail=detail,
                 rounds='expected', rounds_used=[],
                 median_ms=(lo['median_ms'] + hi['median_ms']) / 2,
                 min_ms=(lo['min_ms'] + hi['min_ms']) / 2, times_ms=[],
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
            model, ow = build_trainable(config, device, 'seem', args,
                                        unfrozen=True)
            model.criterion.seed = args.seed
            subjects.append(
                TrainSubject(name, config, 'seem', model, ow, args.rounds[0],
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
            synthetic_scene(size, args.seed, b)
            for b in range(args.batch_size)
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
            row = dict(
                mode='train', device=device, size=size, model=s.name,
                config=s.config, measurement=TRAIN,
                detail=s.detail(args.batch_size), batch_size=args.batch_size,
                median_ms=statistics.median(s.times), min_ms=min(s.times),
                times_ms=list(s.times), losses=list(s.losses),
                iteration_peak_mib=max(s.peaks), static_mib=static,
                peak_mem_mib=static + max(s.peaks), params=params,
                trainable_params=trainable, baseline=s.kind != 'seem')
            if s.kind == 'seem':
                row.update(rounds=s.rounds, rounds_used=list(s.rounds_used),
                           max_rounds=s.model.criterion.simulator.max_rounds,
                           frozen=list(getattr(s.model, 'frozen_modules',
                                               ())),
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
                    dict(mode='train', device=device, size=size,
                         model=row['model'], config=row['config'],
                         measurement=TRAIN_RATIO, detail=row['detail'],
                         of=row['measurement'], value=ratio, unit='x',
                         baseline_model=base['model'],
                         target=f'<= {TRAIN_RATIO_TARGET:g} x',
                         meets_target=ratio <= TRAIN_RATIO_TARGET))
        for s in subjects:
            s.fresh = []
    del subjects
    release_memory()
    return rows


# ---------------------------------------------------------------------------
# video mode
# ---------------------------------------------------------------------------
def synthetic_video(num_frames: int, seed: int, height: int = 480,
                    width: int = 854):
    """Seeded BGR frames of a textured background with a disc moving right,
    and the disc's mask in frame 0 (bool [1, H, W])."""
    import cv2
    rng = np.random.default_rng([seed, 7])
    small = rng.integers(0, 256, (height // 32 + 1, width // 32 + 1, 3),
                         dtype=np.uint8)
    bg = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    r = height // 6
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    frames, first = [], None
    for t in range(num_frames):
        img = bg.copy()
        cx = int(width * 0.25 + t * width * 0.5 / max(num_frames, 1))
        cv2.circle(img, (cx, height // 2), r, color, -1)
        if t == 0:
            mask = np.zeros((height, width), np.uint8)
            cv2.circle(mask, (cx, height // 2), r, 1, -1)
            first = mask[None].astype(bool)
        frames.append(img)
    return frames, first


def load_video(video_dir: Optional[str], num_frames: int, seed: int):
    """(BGR frames, first-frame masks or id map, source description)."""
    import cv2

    from mmseem.datasets.davis import read_davis_annotation
    if video_dir and video_dir != 'synthetic' and osp.isdir(video_dir):
        jpgs = sorted(glob.glob(osp.join(video_dir, 'JPEGImages', '*.jpg')))
        anns = sorted(glob.glob(osp.join(video_dir, 'Annotations', '*.png')))
        if not jpgs or not anns:
            raise FileNotFoundError(
                f'--video-dir {video_dir}: expected one DAVIS sequence as '
                'JPEGImages/*.jpg + Annotations/*.png (e.g. '
                '../shared/data/davis_car_shadow), or pass '
                '--video-dir synthetic')
        if len(jpgs) < num_frames:
            raise ValueError(
                f'--video-dir {video_dir} has {len(jpgs)} frames; the '
                f'benchmark needs 1 + --warmup + --repeat = {num_frames}: '
                'lower --warmup / --repeat')
        frames = [cv2.imread(p) for p in jpgs[:num_frames]]
        first = read_davis_annotation(anns[0])
        return frames, first, (f'DAVIS {osp.basename(osp.normpath(video_dir))}'
                               f' ({len(jpgs)} frames)')
    if video_dir and video_dir != 'synthetic':
        log(f'{video_dir} not found: synthetic frames instead')
    frames, first = synthetic_video(num_frames, seed)
    return frames, first, 'synthetic (seeded moving disc)'


def video_scale_from_config(config: str, height: int, width: int) -> float:
    """The resize factor of the config's test pipeline (``Resize`` with
    ``keep_ratio``, e.g. DAVIS's (1333, 800)), else 1."""
    import mmcv
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    pipeline = cfg.get('test_pipeline') or cfg.get(
        'test_dataloader', {}).get('dataset', {}).get('pipeline', [])
    for t in pipeline or []:
        if str(t.get('type', '')).split('.')[-1] == 'Resize' and \
                t.get('keep_ratio') and t.get('scale'):
            _, factor = mmcv.rescale_size((width, height), tuple(t['scale']),
                                          return_scale=True)
            return float(factor)
    return 1.0


class TimedFrames:
    """A frame sequence that times the consumer's loop: frame ``t`` took
    ``times_ms[t]``, from handing it out to the request for the next one
    (the end of the loop); the memory probe starts at frame ``mem_from``."""

    def __init__(self, frames, device, mem, mem_from):
        self.frames, self.device = frames, device
        self.mem, self.mem_from = mem, mem_from
        self.times_ms = []

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return self.frames[i]

    def _done(self, t: int, start: float) -> None:
        sync(self.device)
        self.times_ms.append((time.perf_counter() - start) * 1e3)
        if t >= 1:  # frame 0 is the reference: nothing is predicted
            warm = ' (warm-up)' if t < self.mem_from else ''
            log(f'  frame {t}: {self.times_ms[-1]:.0f} ms{warm}')

    def __iter__(self):
        start = None
        for i, frame in enumerate(self.frames):
            if start is not None:
                self._done(i - 1, start)
            sync(self.device)
            if i == self.mem_from:
                self.mem.start()
            start = time.perf_counter()
            yield frame
        if start is not None:
            self._done(len(self.frames) - 1, start)


def bench_video(config: str, device: str, args, mem, grad_ctx) -> List[Dict]:
    from mmseem.apis.video import propagate_video
    name = model_name(config)
    log(f'building {name} (video) on {device}')
    model = build_seem(config, device, args.vocab_classes)
    n = 1 + args.warmup + args.repeat
    frames, first, source = load_video(args.video_dir, n, args.seed)
    h, w = frames[0].shape[:2]
    scale = args.video_scale or video_scale_from_config(config, h, w)
    size = f'{int(w * scale + 0.5)}x{int(h * scale + 0.5)}'
    log(f'{name} {device}: propagating {n} frames ({source}) at {size}, '
        f'reference={args.video_reference}')
    timed = TimedFrames(frames, device, mem, 1 + args.warmup)
    release_memory()
    with grad_ctx():
        outs = propagate_video(model, timed, first,
                               reference=args.video_reference, scale=scale)
    peak = mem.stop()
    times = timed.times_ms[1 + args.warmup:]
    median = statistics.median(times)
    log(f'{name} {device} video: median {median:.1f} ms / frame')
    base = dict(mode='video', device=device, size=size, model=name,
                config=config, source=source, scale=scale,
                reference=args.video_reference)
    detail = (f'reference={args.video_reference}, {len(times)} frames '
              f'timed, {source}')
    rows = [
        dict(base, measurement=VIDEO, detail=detail, median_ms=median,
             min_ms=min(times), times_ms=times, peak_mem_mib=peak,
             foreground_px=[int(o.sum()) for o in outs]),
        dict(base, measurement=FPS, detail=f'1000 / median, {source}',
             value=1e3 / median, unit='fps')
    ]
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
            median = {
                '%': f"{r['value']:.1f} %",
                'fps': f"{r['value']:.3g} fps"
            }.get(r['unit'], f"{r['value']:.2f} {r['unit']}")
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
        elif r['measurement'] == TRAIN_RATIO:
            measurement += f" ({r['detail']}; {r['baseline_model']})"
        elif r.get('detail'):
            measurement += f" ({r['detail']})"
        cells = [
            r['device'],
            str(r['size']), r['model'], measurement, median, low, mem, target
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def parse_rounds(value: str):
    """``--rounds`` item: ``random`` or a non-negative integer."""
    if value == 'random':
        return value
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(
            f"{value!r}: use 'random' (the recipe's draw) or a number of "
            'corrective rounds >= 0')
    return n


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark SEEM (inference, training iterations, video '
        "propagation) against mmdet's Mask2Former.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__)
    parser.add_argument('--modes',
                        nargs='+',
                        choices=MODES,
                        default=['infer'],
                        help='what to benchmark (default: infer)')
    parser.add_argument('--configs',
                        nargs='+',
                        default=None,
                        help='SEEM configs (default per mode: infer '
                        'seem_focalt-v1_coco-panoptic, train '
                        'seem_focalt_coco, video seem_focalt-v1_davis)')
    parser.add_argument('--m2f-config',
                        default=None,
                        help=f"Mask2Former config (default: infer mmdet's "
                        f'{M2F_CONFIG_NAME}, train '
                        f'{osp.basename(DEFAULT_TRAIN_M2F_CONFIG)})')
    parser.add_argument('--no-m2f',
                        action='store_true',
                        help='skip the Mask2Former baseline')
    parser.add_argument('--sizes',
                        nargs='+',
                        type=int,
                        default=[512, 1024],
                        help='square input sizes in pixels (infer, train)')
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
    parser.add_argument('--batch-size',
                        type=int,
                        default=1,
                        help='train: images per iteration (default 1)')
    parser.add_argument('--rounds',
                        nargs='+',
                        type=parse_rounds,
                        default=['random'],
                        help="train: SEEM corrective rounds, 'random' (the "
                        "recipe's seeded draw) and / or fixed numbers, one "
                        'SEEM row each (default: random)')
    parser.add_argument('--unfrozen',
                        action='store_true',
                        help='train: add a SEEM row with nothing frozen')
    parser.add_argument('--amp',
                        action='store_true',
                        help='train: AmpOptimWrapper (CUDA only)')
    parser.add_argument('--video-dir',
                        default=DEFAULT_VIDEO_DIR,
                        help='video: one DAVIS sequence (JPEGImages/*.jpg, '
                        "Annotations/*.png) or 'synthetic' (default: "
                        '../shared/data/davis_car_shadow, synthetic frames '
                        'when absent)')
    parser.add_argument('--video-scale',
                        type=float,
                        default=None,
                        help="video: frame resize factor (default: the "
                        "config's test Resize, DAVIS: short side 800, long "
                        '<= 1333)')
    parser.add_argument('--video-reference',
                        default='first',
                        choices=('first', 'previous'),
                        help='video: reference prompt of each frame')
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
    args.modes = [m for m in MODES if m in args.modes]  # fixed order
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
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if len(set(map(str, args.rounds))) != len(args.rounds):
        parser.error(f'--rounds has repeated values: {args.rounds}')
    if args.video_scale is not None and not args.video_scale > 0:
        parser.error('--video-scale must be > 0')
    if args.device is None:
        args.device = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for d in args.device:
        if d.startswith('cuda') and not torch.cuda.is_available():
            parser.error(f'--device {d}: CUDA is not available in this '
                         'torch build / machine; use --device cpu')
        if not d.startswith(('cpu', 'cuda')):
            parser.error(f'--device {d}: use cpu or cuda[:N]')
    if args.amp and 'train' in args.modes and any(
            not d.startswith('cuda') for d in args.device):
        parser.error('--amp (AmpOptimWrapper) needs CUDA: use --device cuda '
                     'or drop --amp (the CPU trains in fp32)')
    for c in (args.configs or []) + ([args.m2f_config]
                                     if args.m2f_config else []):
        if not osp.isfile(c):
            parser.error(f'config not found: {c}')
    return args


def main(argv=None) -> Dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    sys.path.insert(0, REPO_ROOT)
    from mmseem.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    grad_ctx = torch.no_grad if args.no_inference_mode \
        else torch.inference_mode
    infer_configs = args.configs or [DEFAULT_SEEM_CONFIG]
    m2f_config = None
    if 'infer' in args.modes and not args.no_m2f:
        m2f_config = args.m2f_config or default_m2f_config()
    train_configs = args.configs or [DEFAULT_TRAIN_CONFIG]
    train_m2f = None if args.no_m2f else (args.m2f_config
                                          or DEFAULT_TRAIN_M2F_CONFIG)
    video_configs = args.configs or [DEFAULT_VIDEO_CONFIG]

    info = machine_info(args.device)
    rows, train_rows, video_rows, mem_methods = [], [], [], {}
    for device in args.device:
        mem = CudaPeakMemory(device) if device.startswith('cuda') \
            else CpuPeakMemory()
        mem_methods[device] = mem.method
        if 'infer' in args.modes:
            images = make_images(args.sizes, args.seed)
            for config in infer_configs:
                rows += bench_seem(config, device, images, args, mem,
                                   grad_ctx)
            if m2f_config:
                rows += bench_m2f(m2f_config, device, images, args, mem,
                                  grad_ctx)
        if 'train' in args.modes:
            train_rows += bench_train(device, args, mem)
        if 'video' in args.modes:
            for config in video_configs:
                video_rows += bench_video(config, device, args, mem,
                                          grad_ctx)
    order = {
        m: i
        for i, m in enumerate((FULL, FEATS, ROUND, SHARE, VOCAB, RATIO))
    }
    rows = add_ratios(rows)

    def sort_key(r):
        cfg = r['config']
        return (args.device.index(r['device']), r['size'],
                bool(r.get('baseline')),
                infer_configs.index(cfg) if cfg in infer_configs else 0,
                order[r['measurement']])

    rows.sort(key=sort_key)
    for r in rows:
        r['mode'] = 'infer'
    rows += train_rows + video_rows
    info['loadavg_end'] = machine_info(args.device).get('loadavg')
    table = format_table(rows)
    grad_mode = 'no_grad' if args.no_inference_mode else 'inference_mode'
    print(machine_line(info))
    print(f'modes: {" ".join(args.modes)}; warm-up {args.warmup}, repeat '
          f'{args.repeat} (median, min); random weights')
    if 'infer' in args.modes:
        print(f'infer: grad mode {grad_mode}; seeded uint8 noise images')
    if 'train' in args.modes:
        print(f'train: model.train_step (preprocess + loss + backward + '
              f"optimizer step, the configs' optim_wrapper"
              f"{', AMP' if args.amp else ''}), batch {args.batch_size} of "
              'seeded synthetic panoptic scenes (+ 1 sentence each for '
              'SEEM), models interleaved per iteration, iteration k seeded '
              f'(seed {args.seed}, k); SEEM rounds: '
              f"{' '.join(map(str, args.rounds))}")
        if any(r['measurement'] == TRAIN_EXPECTED for r in train_rows):
            print('train: expected over the rounds = mean of the 0-round '
                  'and max-round medians (the recipe draws the rounds '
                  'uniformly in 0..max; each round is one more no-grad '
                  'decoder pass, so the cost is linear in the rounds)')
        frozen = sorted({
            f"{r['model']}: {', '.join(r['frozen']) or 'nothing'}"
            for r in train_rows if r.get('frozen') is not None
            and not r.get('unfrozen')
        })
        if frozen:
            print(f"train: frozen as configured (requires_grad=False): "
                  f"{'; '.join(frozen)}")
    if 'video' in args.modes:
        print('video: mmseem.apis.propagate_video, per frame: resize + '
              'preprocessing + predict_refimg (the reference frame is '
              'not timed)')
    print()
    print(table)
    print()
    for device, method in mem_methods.items():
        what = ('peak during the timed runs' if device.startswith('cuda') else
                'peak RSS during the timed runs minus RSS before them')
        print(f'peak mem on {device}: {what} ({method})')
        if 'train' in args.modes:
            print(f'  train rows on {device}: parameters + buffers + '
                  'optimizer state, plus the largest per-iteration peak '
                  'over the memory before the iteration')
    result = dict(machine=info,
                  settings=dict(modes=args.modes,
                                configs=infer_configs,
                                m2f_config=m2f_config,
                                train_configs=train_configs,
                                train_m2f_config=train_m2f,
                                video_configs=video_configs,
                                sizes=args.sizes,
                                devices=args.device,
                                threads=torch.get_num_threads(),
                                warmup=args.warmup,
                                repeat=args.repeat,
                                prompts=args.prompts,
                                clicks=args.clicks,
                                seed=args.seed,
                                vocab_classes=args.vocab_classes,
                                batch_size=args.batch_size,
                                rounds=args.rounds,
                                unfrozen=args.unfrozen,
                                amp=args.amp,
                                video_dir=args.video_dir,
                                video_scale=args.video_scale,
                                video_reference=args.video_reference,
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
