"""Pictures and the visual-referring evaluation of the main job.

    python tools/analysis_tools/default_pictures.py CONFIG CHECKPOINT \\
        --data-root data/synthetic --out-dir work_dirs/default/seem/pictures

CONFIG is an evaluation config of the synthetic set with the model
(e.g. ``configs/seem/seem_small_synthetic-panoptic.py``). Writes PNGs:

* ``panoptic_*.png``: image | ground truth | prediction, segments coloured
  by class with the class names drawn;
* ``referring_*.png``: the sentence above the image, predicted mask (fill)
  and ground truth (white outline);
* ``clicks_*.png``: one object's click session (standard protocol, as the
  evaluation plays it): prediction after clicks 1, 2, 3, 5, 10, 20 with the
  clicks drawn (+ green positive, - red negative) and the IoU;
  ``clicks_hard_*.png``: the same for the objects that one click segments
  worst (where corrective clicks have most to do);
* ``visual_referring_*.png``: the prompt region in another image | the
  prediction in the target image.

and evaluates **visual referring** on every pair of
``annotations/visual_refs_val.json`` (a target object and the largest object
of the same class in another val image, whose mask is the prompt) with
mmengine's ``Evaluator`` and mmseem's ``ReferringMetric`` (prefix
``visref``: cIoU, mIoU, Prec@k); the metrics go to ``--metrics-json``.
Masks with their class names, clicks by polarity and sentences are drawn by
:class:`mmseem.visualization.SEEMVisualizer`; OpenCV only scales the
128 px images up, outlines the ground truth and lays out the panels.
"""
import argparse
import json
import os
import os.path as osp

import cv2
import numpy as np
import torch

SCALE = 3  # 128 px images are drawn 3x larger
CLICK_STEPS = (1, 2, 3, 5, 10, 20)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--data-root', default='data/synthetic')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--metrics-json', help='write visual referring metrics')
    p.add_argument('--num', type=int, default=4, help='pictures per kind')
    p.add_argument('--num-hard', type=int, default=2, help='click sessions '
                   'of the objects that one click segments worst')
    p.add_argument('--max-pairs', type=int, help='evaluate the first N '
                   'visual referring pairs only (smoke runs)')
    return p.parse_args()


# ----------------------------------------------------------------- drawing
def _big(img):
    return cv2.resize(img, None, fx=SCALE, fy=SCALE,
                      interpolation=cv2.INTER_NEAREST)


def _text(img, text, xy, color=(255, 255, 255), scale=0.5):
    x, y = int(xy[0]), int(xy[1])
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1,
                cv2.LINE_AA)


def _overlay(img, mask, color, alpha=0.5):
    out = img.copy()
    m = _big(mask.astype(np.uint8)) > 0 if mask.shape != img.shape[:2] \
        else mask
    out[m] = (1 - alpha) * out[m] + alpha * np.asarray(color, np.float64)
    return out


def _outline(img, mask, color=(255, 255, 255)):
    m = _big(mask.astype(np.uint8))
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, contours, -1, color, 2)
    return img


def _title(panel, text):
    bar = np.full((26, panel.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, panel])


def _row(panels, gap=6):
    h = max(p.shape[0] for p in panels)
    out = []
    for p in panels:
        p = np.pad(p, ((0, h - p.shape[0]), (0, gap), (0, 0)),
                   constant_values=255)
        out.append(p)
    return np.hstack(out)


_VISUALIZER = []


def _vis():
    """One :class:`SEEMVisualizer` for every picture of the run."""
    if not _VISUALIZER:
        from mmseem.visualization import SEEMVisualizer
        _VISUALIZER.append(SEEMVisualizer(name='seem_default_pictures'))
    return _VISUALIZER[0]


def _big_mask(mask):
    return _big(mask.astype(np.uint8)) > 0


def _masks_panel(rgb, masks, labels, colors=None):
    """The image scaled up with ``masks`` [N, h, w] drawn with ``labels``."""
    big = _big(rgb)
    if len(masks) == 0:
        return big
    return _vis().draw_masks(big, np.stack([_big_mask(m) for m in masks]),
                             labels=labels, colors=colors)


def _segments_panel(rgb, segments, names, palette):
    """``segments``: [(label, bool mask)] -> overlay with class names."""
    return _masks_panel(rgb, [m for _, m in segments],
                        [names[label] for label, _ in segments],
                        [tuple(int(c) for c in palette[label])
                         for label, _ in segments])


def _save(path, rgb):
    tmp = path + '.tmp.png'
    cv2.imwrite(tmp, rgb[..., ::-1])
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------- pictures
def _pan_segments(pan, num_classes):
    """mmdet panoptic map (label + id * INSTANCE_OFFSET) -> [(label, m)]."""
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    out = []
    for v in np.unique(pan):
        label = int(v % INSTANCE_OFFSET)
        if label < num_classes:
            out.append((label, pan == v))
    return out


def panoptic_pictures(model, cfg, args, names, palette, n_thing, out):
    from mmengine.runner import Runner
    cfg.test_dataloader.dataset.data_root = args.data_root
    loader = Runner.build_dataloader(cfg.test_dataloader)
    paths = []
    for i, batch in enumerate(loader):
        if i >= args.num:
            break
        with torch.no_grad():
            sample = model.test_step(batch)[0]
        rgb = cv2.imread(sample.img_path)[..., ::-1]
        pred = sample.pred_panoptic_seg.sem_seg[0].cpu().numpy()
        gt_png = osp.join(args.data_root, 'annotations',
                          'panoptic_semseg_val2017',
                          osp.basename(sample.img_path)[:-4] + '.png')
        gt = cv2.imread(gt_png, cv2.IMREAD_GRAYSCALE)
        gt_inst = sample.gt_instances
        gt_segs = [(int(lbl), m.astype(bool)) for lbl, m in zip(
            gt_inst.labels.tolist(), gt_inst.masks.to_ndarray())]
        stuff = [(int(v), gt == v) for v in np.unique(gt)
                 if v != 255 and int(v) >= n_thing]
        panels = [_title(_big(rgb), 'image'),
                  _title(_segments_panel(rgb, stuff + gt_segs, names,
                                         palette), 'ground truth'),
                  _title(_segments_panel(
                      rgb, _pan_segments(pred, len(names)), names, palette),
                      'SEEM panoptic')]
        paths.append(_save(osp.join(out, f'panoptic_{i}.png'),
                           _row(panels)))
    return paths


def referring_pictures(predictor, args, out):
    root = args.data_root
    with open(osp.join(root, 'annotations', 'refs_val.json')) as f:
        refs = json.load(f)
    files = {im['id']: im['file_name'] for im in refs['images']}
    from pycocotools import mask as mask_utils
    paths = []
    for i, ann in enumerate(refs['annotations'][:args.num]):
        path = osp.join(root, 'val2017', files[ann['image_id']])
        rgb = cv2.imread(path)[..., ::-1]
        h, w = rgb.shape[:2]
        gt = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(
            ann['segmentation'], h, w))).astype(bool)
        sent = ann['sentences'][0]['raw']
        predictor.set_image(rgb)
        pred = predictor.predict_text(sent)['masks'][0]
        panel = _outline(_masks_panel(rgb, [pred], ['prediction'],
                                      [(255, 0, 255)]), gt)
        panel = _vis().draw_sentence(panel, sent)
        iou = (pred & gt).sum() / max((pred | gt).sum(), 1)
        paths.append(_save(osp.join(out, f'referring_{i}.png'), _title(
            panel, f'prediction (fill), ground truth (outline): IoU '
                   f'{iou:.2f}')))
    return paths


def _click_session(predictor, rgb, gt, max_clicks):
    """The standard protocol on one object; (clicks, ious, masks).
    ``set_image`` per object on purpose: it also seeds the predictor's
    random stream (prompt point sampling), so each session is drawn the
    same whichever objects ran before it."""
    from mmseem.evaluation.functional.click_protocols import \
        run_interactive_session
    predictor.set_image(rgb)
    history = []

    def predict_fn(clicks_per_object, prev_masks):
        clicks = clicks_per_object[0]
        if len(history) == 0 or len(clicks) == 1:
            predictor.reset()
        res = predictor.predict(
            points=[[[c.x + .5, c.y + .5] for c in clicks]],
            point_labels=[[int(c.is_positive) for c in clicks]])
        history.append(res['masks'][0])
        return res['masks'][:1]

    sess = run_interactive_session(predict_fn, gt[None], 'standard',
                                   max_clicks=max_clicks)
    return sess['clicks'][0], sess['ious'][0], history


def click_pictures(predictor, cfg, args, out):
    """One click session (standard protocol) per object of the first
    images (``clicks_*.png``) and of the ``--num-hard`` objects that one
    click segments worst (``clicks_hard_*.png``), drawn after clicks 1, 2,
    3, 5, 10, 20."""
    from pycocotools.coco import COCO
    coco = COCO(osp.join(args.data_root, 'annotations',
                         'instances_val2017.json'))

    def load(img_id, ann):
        info = coco.loadImgs(img_id)[0]
        rgb = cv2.imread(osp.join(args.data_root, 'val2017',
                                  info['file_name']))[..., ::-1]
        return rgb, coco.annToMask(ann).astype(bool)

    img_ids = sorted(coco.getImgIds())
    objects = [(i, a) for i in img_ids for a in coco.loadAnns(
        coco.getAnnIds(imgIds=i))]
    chosen = [(f'clicks_{n}', o) for n, o in enumerate(objects[:args.num])]
    if args.num_hard:
        first = [_click_session(predictor, *load(*o), 1)[1][0]
                 for o in objects]
        hard = np.argsort(first, kind='stable')[:args.num_hard]
        chosen += [(f'clicks_hard_{n}', objects[k])
                   for n, k in enumerate(hard)]
    paths = []
    for name, (img_id, ann) in chosen:
        rgb, gt = load(img_id, ann)
        clicks, ious, history = _click_session(predictor, rgb, gt,
                                               max(CLICK_STEPS))
        panels = []
        for k in CLICK_STEPS:
            j = min(k, len(history)) - 1
            p = _outline(_masks_panel(rgb, [history[j]], ['object'],
                                      [(255, 0, 255)]), gt)
            shown = clicks[:j + 1]
            p = _vis().draw_prompts(
                p, points=[((c.x + .5) * SCALE, (c.y + .5) * SCALE)
                           for c in shown],
                point_labels=[int(c.is_positive) for c in shown])
            panels.append(_title(p, f'{k} click{"s" * (k > 1)}: IoU '
                                    f'{ious[k - 1]:.2f}'))
        paths.append(_save(osp.join(out, f'{name}.png'), _row(panels)))
    return paths


def visual_referring(predictor, args, out):
    """Evaluate every visual referring pair; draw the first ones."""
    from mmengine.evaluator import Evaluator
    from pycocotools.coco import COCO
    root = args.data_root
    with open(osp.join(root, 'annotations', 'visual_refs_val.json')) as f:
        pairs = json.load(f)['pairs']
    if args.max_pairs:
        pairs = pairs[:args.max_pairs]
    coco = COCO(osp.join(root, 'annotations', 'instances_val2017.json'))

    def load(img_id, ann_id):
        info = coco.loadImgs(img_id)[0]
        rgb = cv2.imread(osp.join(root, 'val2017',
                                  info['file_name']))[..., ::-1]
        return rgb, coco.annToMask(coco.loadAnns(ann_id)[0]).astype(bool)

    from mmseem.structures import VisualPrompts
    evaluator = Evaluator(dict(type='ReferringMetric', prefix='visref'))
    paths = []
    for n, pair in enumerate(pairs):
        rgb, gt = load(pair['image_id'], pair['ann_id'])
        ref_rgb, ref_mask = load(pair['ref_image_id'], pair['ref_ann_id'])
        predictor.set_image(rgb)
        pred = predictor.predict_reference(  # the region is the prompt
            ref_rgb, dict(masks=ref_mask[None]))['masks'][:1]
        evaluator.process([dict(pred_instances=dict(
            masks=torch.from_numpy(pred)), gt_masks=torch.from_numpy(
                gt[None]))])
        if n < args.num:
            iou = (pred[0] & gt).sum() / max((pred[0] | gt).sum(), 1)
            left = _vis().draw_visual_prompts(
                _big(ref_rgb),
                VisualPrompts.from_masks(_big_mask(ref_mask)[None]))
            right = _outline(_masks_panel(rgb, [pred[0]], ['prediction'],
                                          [(255, 0, 255)]), gt)
            paths.append(_save(
                osp.join(out, f'visual_referring_{n}.png'),
                _row([_title(left, f'prompt: a {pair["category"]} here'),
                      _title(right, f'found in another image: IoU '
                                    f'{iou:.2f}')])))
    metrics = evaluator.evaluate(len(pairs)) if pairs else {}
    return paths, dict(metrics, visref_pairs=len(pairs))


def main():
    args = parse_args()
    from mmengine.config import Config

    from mmseem.apis import SEEMPredictor
    from mmseem.utils import register_all_modules
    register_all_modules()
    os.makedirs(args.out_dir, exist_ok=True)
    cfg = Config.fromfile(args.config)
    predictor = SEEMPredictor.from_config(cfg, args.checkpoint)
    model = predictor.model
    from mmseem.datasets.synthetic import (SYNTHETIC_CLASSES,
                                           SYNTHETIC_PALETTE,
                                           SYNTHETIC_THING_CLASSES)
    names, palette = list(SYNTHETIC_CLASSES), SYNTHETIC_PALETTE
    written = panoptic_pictures(model, cfg, args, names, palette,
                                len(SYNTHETIC_THING_CLASSES), args.out_dir)
    written += referring_pictures(predictor, args, args.out_dir)
    written += click_pictures(predictor, cfg, args, args.out_dir)
    vis, metrics = visual_referring(predictor, args, args.out_dir)
    written += vis
    if args.metrics_json:
        with open(args.metrics_json, 'w') as f:
            json.dump(metrics, f, indent=1)
    print(json.dumps(metrics))
    print(f'{len(written)} pictures under {args.out_dir}')


if __name__ == '__main__':
    main()
