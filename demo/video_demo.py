"""Segment objects through a video from a first-frame prompt.

    python demo/video_demo.py INPUT CONFIG [--checkpoint CKPT]
        (--points X,Y,LABEL ... | --box X1,Y1,X2,Y2 | --mask FIRST.png)
        --out-dir OUT [--reference first|previous] [--short-side 512]
        [--max-frames N] [--device cpu]

INPUT is a folder of frames (sorted by name; .jpg/.png) or a video file.
The first-frame prompt is turned into a mask by one interactive round of
:class:`mmseem.apis.SEEMPredictor` (``--mask`` gives it directly: nonzero =
object, or object ids 1..K), then :class:`mmseem.apis.VideoPropagator`
segments every frame with SEEM's visual referring (see
``mmseem/apis/video.py`` for the reference choice).

Writes ``OUT/masks/NNNNN.png`` (object ids: 0 background, k object k;
255 for a single object), ``OUT/overlay.mp4`` and ``OUT/first_frame.png``
(the prompt and its mask, drawn by ``SEEMVisualizer``); reports frames per
second. Frames are read one at a time and nothing per frame is kept, so
memory does not grow with the video length. Existing outputs are never
overwritten (each file is written to a temporary name and renamed).
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Iterator, Optional, Tuple

import numpy as np

FRAME_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')


class VideoDemoError(ValueError):
    """Bad input, with a message naming the fix."""


# ----------------------------------------------------------------------
# frames in, files out
# ----------------------------------------------------------------------
def count_and_open(source: str) -> Tuple[int, Iterator[np.ndarray]]:
    """(number of frames or -1 if unknown, lazy iterator of BGR frames)."""
    if osp.isdir(source):
        files = sorted(f for f in os.listdir(source)
                       if f.lower().endswith(FRAME_EXTS))
        if not files:
            raise VideoDemoError(
                f'{source!r} holds no frames ({", ".join(FRAME_EXTS)})')

        def folder():
            import cv2
            for name in files:
                img = cv2.imread(osp.join(source, name), cv2.IMREAD_COLOR)
                if img is None:
                    raise VideoDemoError(
                        f'cannot decode frame {name!r} of {source!r}; '
                        'remove or re-export it')
                yield img

        return len(files), folder()
    if not osp.isfile(source):
        raise VideoDemoError(f'{source!r} is neither a frame folder nor a '
                             'video file')
    import cv2
    cap = cv2.VideoCapture(source)
    ok, first = cap.read() if cap.isOpened() else (False, None)
    if not ok or first is None:
        cap.release()
        raise VideoDemoError(
            f'cannot decode the video {source!r} (broken, truncated or an '
            'unsupported codec); convert it, e.g. ffmpeg -i IN -c:v libx264 '
            'OUT.mp4, or extract its frames to a folder')
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or -1)

    def video():
        try:
            frame = first
            while frame is not None:
                yield frame
                ok, frame = cap.read()
                if not ok:
                    break
        finally:
            cap.release()

    return n, video()


def write_png_atomic(path: str, image: np.ndarray) -> None:
    """Write a PNG through a temporary file + rename; refuses to replace
    an existing file."""
    import cv2
    if osp.exists(path):
        raise VideoDemoError(f'{path!r} exists; it is not overwritten: '
                             'choose a new --out-dir')
    tmp = f'{path}.tmp{os.getpid()}.png'
    if not cv2.imwrite(tmp, image):
        raise VideoDemoError(f'cannot write {tmp!r}')
    os.replace(tmp, path)


def masks_to_png(masks: np.ndarray) -> np.ndarray:
    """bool [K, H, W] -> uint8 id map (255 for one object, else 1..K)."""
    h, w = masks.shape[-2:]
    out = np.zeros((h, w), np.uint8)
    if len(masks) == 1:
        out[masks[0]] = 255
        return out
    for k, m in enumerate(masks, 1):
        out[m] = k
    return out


def overlay(frame: np.ndarray, masks: np.ndarray, colors) -> np.ndarray:
    """BGR frame with masks blended in (fast, for every frame)."""
    import cv2
    out = frame.copy()
    for m, c in zip(masks, colors):
        if m.any():
            out[m] = (0.5 * out[m] + 0.5 * np.asarray(c[::-1])).astype(
                np.uint8)
            contours, _ = cv2.findContours(m.astype(np.uint8),
                                           cv2.RETR_EXTERNAL,
                                           cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, contours, -1, (255, 255, 255), 2)
    return out


# ----------------------------------------------------------------------
# model
# ----------------------------------------------------------------------
def _frame_inputs(model, img: np.ndarray, short_side: Optional[int],
                  idx: int, meta: dict):
    """BGR frame -> (preprocessed inputs [1, 3, h, w], data sample)."""
    import cv2
    import torch
    from mmdet.structures import DetDataSample
    h0, w0 = img.shape[:2]
    scale = 1.0 if not short_side else short_side / min(h0, w0)
    h, w = max(1, int(h0 * scale + 0.5)), max(1, int(w0 * scale + 0.5))
    if (h, w) != (h0, w0):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    sample = DetDataSample(metainfo=dict(
        ori_shape=(h0, w0), img_shape=(h, w), scale_factor=(w / w0, h / h0),
        frame_idx=idx, **meta))
    tensor = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    data = model.data_preprocessor(
        dict(inputs=[tensor], data_samples=[sample]), False)
    return data['inputs'], data['data_samples'][0]


def first_frame_masks(predictor, frame_bgr: np.ndarray, args) -> np.ndarray:
    """bool [K, H, W] of frame 0 from --mask, or one interactive round."""
    h, w = frame_bgr.shape[:2]
    if args.mask:
        from mmseem.datasets.davis import read_davis_annotation
        if not osp.isfile(args.mask):
            raise VideoDemoError(f'--mask {args.mask!r} does not exist')
        try:
            ids = read_davis_annotation(args.mask)
        except Exception as err:  # noqa: BLE001
            raise VideoDemoError(
                f'cannot read --mask {args.mask!r}: {err}') from None
        if ids.shape != (h, w):
            raise VideoDemoError(
                f'--mask is {ids.shape[1]} x {ids.shape[0]} but the first '
                f'frame is {w} x {h}; give the mask at the frame size')
        valid = ids[ids != 255]
        k = int(valid.max()) if valid.size else 0
        if k == 0:
            raise VideoDemoError(f'--mask {args.mask!r} marks no object')
        return ids[None] == np.arange(1, k + 1)[:, None, None]
    predictor.set_image(frame_bgr, image_format='BGR')
    try:
        if args.points:
            out = predictor.predict(
                points=[[[x, y] for x, y, _ in args.points]],
                point_labels=[[lb for *_, lb in args.points]])
        else:
            out = predictor.predict(boxes=[args.box])
    except ValueError as err:  # prompt outside the frame, negative only, ...
        raise VideoDemoError(f'first-frame prompt: {err}') from None
    return out['masks']


def run(args) -> dict:
    import torch

    from mmseem.apis import SEEMPredictor, VideoPropagator
    from mmseem.visualization import SEEMVisualizer, default_palette

    out_dir = args.out_dir
    mask_dir = osp.join(out_dir, 'masks')
    video_path = osp.join(out_dir, 'overlay.mp4')
    if (osp.isdir(mask_dir) and os.listdir(mask_dir)) or osp.exists(
            video_path):
        raise VideoDemoError(
            f'{out_dir!r} already holds results; they are not '
            'overwritten: choose a new --out-dir or remove them')
    num, frames = count_and_open(args.input)
    torch.manual_seed(0)
    predictor = SEEMPredictor.from_config(args.config, args.checkpoint,
                                          device=args.device)
    model = predictor.model
    prop = VideoPropagator(model, reference=args.reference, load_gt=False)
    os.makedirs(mask_dir, exist_ok=True)

    import cv2
    writer, tmp_video, colors = None, None, None
    n_done, t0 = 0, time.perf_counter()
    try:
        for idx, frame in enumerate(frames):
            if args.max_frames and idx >= args.max_frames:
                break
            inputs, sample = _frame_inputs(
                model, frame, args.short_side, idx,
                dict(seq_name='video', num_frames=num))
            if idx == 0:
                masks = first_frame_masks(predictor, frame, args)
                predictor.reset_image()  # free the image features
                prop.set_reference(inputs, sample, masks=masks)
                colors = default_palette(len(masks))
                vis = SEEMVisualizer(name=f'video_demo_{id(prop)}')
                rgb = vis.draw_masks(frame[..., ::-1].copy(), masks,
                                     [f'object {k + 1}'
                                      for k in range(len(masks))])
                if args.points:
                    rgb = vis.draw_prompts(
                        rgb, [p[:2] for p in args.points],
                        [p[2] for p in args.points])
                elif args.box:
                    rgb = vis.draw_prompts(rgb, boxes=[args.box])
                write_png_atomic(osp.join(out_dir, 'first_frame.png'),
                                 np.ascontiguousarray(rgb[..., ::-1]))
            else:
                masks = prop.predict_frame(inputs,
                                           sample).pred_masks.numpy()
            write_png_atomic(osp.join(mask_dir, f'{idx:05d}.png'),
                             masks_to_png(masks))
            if writer is None:
                tmp_video = osp.join(out_dir, f'.overlay.tmp{os.getpid()}.mp4')
                writer = cv2.VideoWriter(
                    tmp_video, cv2.VideoWriter_fourcc(*'mp4v'), args.fps,
                    (frame.shape[1], frame.shape[0]))
            writer.write(overlay(frame, masks, colors))
            n_done += 1
            if n_done % 10 == 0:
                rate = n_done / (time.perf_counter() - t0)
                print(f'  {n_done} frames, {rate:.2f} fps', flush=True)
    except BaseException:
        if writer is not None:
            writer.release()
            writer = None
        if tmp_video and osp.exists(tmp_video):
            os.remove(tmp_video)  # a partial video is not a result
        raise
    finally:
        if writer is not None:
            writer.release()
    if n_done == 0:
        raise VideoDemoError(f'{args.input!r} gave no frame')
    os.replace(tmp_video, video_path)
    seconds = time.perf_counter() - t0
    fps = n_done / seconds
    print(f'{n_done} frames in {seconds:.1f} s: {fps:.2f} frames per second '
          f'(model {osp.basename(args.config)}, {args.device}); masks in '
          f'{mask_dir}, overlay {video_path}')
    return dict(frames=n_done, seconds=seconds, fps=fps,
                mask_dir=mask_dir, video=video_path)


# ----------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------
def _floats(text: str, n: int, what: str):
    try:
        vals = [float(v) for v in text.split(',')]
    except ValueError:
        vals = []
    if len(vals) != n:
        raise argparse.ArgumentTypeError(
            f'{what} {text!r}: expected {n} comma-separated numbers')
    return vals


def point(text: str):
    x, y, label = _floats(text, 3, 'point (x,y,label)')
    if label not in (0, 1):
        raise argparse.ArgumentTypeError(
            f'point {text!r}: label must be 1 (positive) or 0 (negative)')
    return x, y, int(label)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('input', help='frame folder or video file')
    p.add_argument('config', help='SEEM config file')
    p.add_argument('--checkpoint', default=None,
                   help='weights (omitted: random weights, for trying)')
    prompt = p.add_mutually_exclusive_group(required=True)
    prompt.add_argument('--points', nargs='+', type=point,
                        metavar='X,Y,LABEL',
                        help='first-frame clicks of one object')
    prompt.add_argument('--box', type=lambda t: _floats(t, 4, 'box'),
                        metavar='X1,Y1,X2,Y2', help='first-frame box')
    prompt.add_argument('--mask', help='first-frame mask PNG (frame size)')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--reference', choices=('first', 'previous'),
                   default='first')
    p.add_argument('--short-side', type=int, default=512,
                   help='frames are resized to this short side for the '
                   'model (0: original size); outputs keep the frame size')
    p.add_argument('--max-frames', type=int, default=0,
                   help='stop after this many frames (0: all)')
    p.add_argument('--fps', type=float, default=24.0,
                   help='frame rate of the overlay video')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except (VideoDemoError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
