"""Shared parts of the speed benchmark: defaults, measurement names,
machine line, peak memory probes, the timing loop, model-config helpers."""
import ctypes
import gc
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

REPO_ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
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


def measure_interleaved(fns: List[Callable], device: str, warmup: int,
                        repeat: int, mem, labels: List[str]) -> List[Dict]:
    """:func:`measure` for several functions called in turn (``f0, f1, f0,
    f1, ...``) so that a varying machine load affects them alike; each peak
    is that of its own calls."""
    log(f'{" / ".join(labels)}: interleaved, {warmup} warm-up + {repeat} '
        'timed runs each ...')
    for _ in range(warmup):
        for fn in fns:
            fn()
    sync(device)
    times = [[] for _ in fns]
    peaks = [0.0 for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            mem.start()
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[i].append((time.perf_counter() - t0) * 1e3)
            peaks[i] = max(peaks[i], mem.stop())
    out = []
    for label, ts, peak in zip(labels, times, peaks):
        log(f'{label}: median {statistics.median(ts):.1f} ms')
        out.append(
            dict(median_ms=statistics.median(ts),
                 min_ms=min(ts),
                 times_ms=ts,
                 peak_mem_mib=peak))
    return out
