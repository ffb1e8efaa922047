"""``--modes video``: SEEM video object propagation per frame."""
import glob
import os.path as osp
import statistics
import time
from typing import Dict, List, Optional

import numpy as np

from .common import FPS, VIDEO, log, model_name, release_memory, sync
from .infer import build_seem


# ---------------------------------------------------------------------------
# video mode
# ---------------------------------------------------------------------------
def synthetic_video(num_frames: int,
                    seed: int,
                    height: int = 480,
                    width: int = 854):
    """Seeded BGR frames of a textured background with a disc moving right,
    and the disc's mask in frame 0 (bool [1, H, W])."""
    import cv2
    rng = np.random.default_rng([seed, 7])
    small = rng.integers(0,
                         256, (height // 32 + 1, width // 32 + 1, 3),
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
    pipeline = cfg.get('test_pipeline') or cfg.get('test_dataloader', {}).get(
        'dataset', {}).get('pipeline', [])
    for t in pipeline or []:
        if str(t.get('type', '')).split('.')[-1] == 'Resize' and \
                t.get('keep_ratio') and t.get('scale'):
            _, factor = mmcv.rescale_size((width, height),
                                          tuple(t['scale']),
                                          return_scale=True)
            return float(factor)
    return 1.0


class TimedFrames:
    """A frame sequence that times the consumer's loop: frame ``t`` took
    ``times_ms[t]``, from handing it out to the request for the next one
    (the end of the loop; call :meth:`finish` after the last one); the
    memory probe starts at frame ``mem_from``. Works whether the consumer
    iterates or indexes the frames in order."""

    def __init__(self, frames, device, mem, mem_from):
        self.frames, self.device = frames, device
        self.mem, self.mem_from = mem, mem_from
        self.times_ms = []
        self._current = None  # (index, start time) of the frame handed out

    def __len__(self):
        return len(self.frames)

    def _hand_out(self, i: int):
        if self._current is not None and self._current[0] != i:
            self._done(*self._current)
        if self._current is None or self._current[0] != i:
            sync(self.device)
            if i == self.mem_from:
                self.mem.start()
            self._current = (i, time.perf_counter())
        return self.frames[i]

    def __getitem__(self, i):
        return self._hand_out(range(len(self.frames))[i])

    def __iter__(self):
        for i in range(len(self.frames)):
            yield self._hand_out(i)

    def finish(self) -> None:
        """Close the timing of the last frame handed out."""
        if self._current is not None:
            self._done(*self._current)
            self._current = None

    def _done(self, t: int, start: float) -> None:
        sync(self.device)
        self.times_ms.append((time.perf_counter() - start) * 1e3)
        if t >= 1:  # frame 0 is the reference: nothing is predicted
            warm = ' (warm-up)' if t < self.mem_from else ''
            log(f'  frame {t}: {self.times_ms[-1]:.0f} ms{warm}')


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
        outs = propagate_video(model,
                               timed,
                               first,
                               reference=args.video_reference,
                               scale=scale)
        timed.finish()
    peak = mem.stop()
    times = timed.times_ms[1 + args.warmup:]
    median = statistics.median(times)
    log(f'{name} {device} video: median {median:.1f} ms / frame')
    base = dict(mode='video',
                device=device,
                size=size,
                model=name,
                config=config,
                source=source,
                scale=scale,
                reference=args.video_reference)
    detail = (f'reference={args.video_reference}, {len(times)} frames '
              f'timed, {source}')
    rows = [
        dict(base,
             measurement=VIDEO,
             detail=detail,
             median_ms=median,
             min_ms=min(times),
             times_ms=times,
             peak_mem_mib=peak,
             foreground_px=[int(o.sum()) for o in outs]),
        dict(base,
             measurement=FPS,
             detail=f'1000 / median, {source}',
             value=1e3 / median,
             unit='fps')
    ]
    del model
    return rows
