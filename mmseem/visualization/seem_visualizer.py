"""``SEEMVisualizer``: masks with labels, SEEM's prompts and sentences.

Built on mmdet's :class:`~mmdet.visualization.DetLocalVisualizer`, whose
mask / box / label / panoptic drawing is reused as is. SEEM-specific, not in
mmdet/mmseg: the prompts a user gave (clicks drawn by polarity, boxes,
scribbles, polygons, mask outlines) and the referring sentence.

Two ways to use it:

* as an mmengine visualizer: ``add_datasample(name, image, data_sample)``
  (``mim test --show-dir``, ``DetVisualizationHook``, the inferencer) draws
  the predictions of ``data_sample`` and, on the prediction panel, its
  ``visual_prompts`` (:class:`mmseem.structures.VisualPrompts`, in pixels
  of the original image) and ``text``;
* on numpy images (the demos): :meth:`draw_masks`, :meth:`draw_prompts`,
  :meth:`draw_visual_prompts` and :meth:`draw_sentence` each take an RGB
  ``uint8`` ``[H, W, 3]`` array and return a new one (the input is never
  written).

Colours: positive prompts green, negative prompts red, every prompt element
with a white edge so that it stays visible on any mask.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmdet.visualization import DetLocalVisualizer
from mmengine.dist import master_only
from mmengine.structures import InstanceData, PixelData

from mmseem.registry import VISUALIZERS

__all__ = ['SEEMVisualizer', 'default_palette']

Color = Tuple[int, int, int]


# distinct first colours (matplotlib's tab10 without grey), then seeded ones
_BASE_COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44),
                (214, 39, 40), (148, 103, 189), (140, 86, 75),
                (227, 119, 194), (188, 189, 34), (23, 190, 207))


def default_palette(n: int, seed: int = 0) -> List[Color]:
    """``n`` distinct-looking RGB colours, the same for the same ``n``."""
    rng = np.random.RandomState(seed)
    extra = [tuple(int(v) for v in c)
             for c in rng.randint(40, 256, (max(n - len(_BASE_COLORS), 0),
                                            3))]
    return (list(_BASE_COLORS) + extra)[:n]


def _rgb_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(
            'image must be an RGB uint8 array [H, W, 3]; got shape '
            f'{arr.shape} dtype {arr.dtype} (use mmseem.apis.load_image)')
    return np.ascontiguousarray(arr)


def _non_empty(inst: InstanceData) -> InstanceData:
    """Drop instances with an empty mask (mmdet places a mask's label at
    its largest connected part and fails on masks without any)."""
    if 'masks' not in inst or len(inst) == 0:
        return inst
    masks = np.asarray(inst.masks).reshape(len(inst), -1)
    keep = np.flatnonzero(masks.any(axis=1))
    return inst[keep] if len(keep) < len(inst) else inst


@VISUALIZERS.register_module()
class SEEMVisualizer(DetLocalVisualizer):
    """mmdet's detection visualizer plus SEEM's prompts and sentences.

    Args:
        pos_color (tuple): RGB of positive prompts. Default green.
        neg_color (tuple): RGB of negative prompts. Default red.
        click_size (int, optional): click marker diameter in pixels
            (default: 1.5 % of the image diagonal, at least 8).
        **kwargs: :class:`DetLocalVisualizer` arguments (``name``,
            ``vis_backends``, ``save_dir``, ``line_width``, ``alpha``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 pos_color: Color = (0, 220, 0),
                 neg_color: Color = (230, 0, 0),
                 click_size: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.pos_color = tuple(pos_color)
        self.neg_color = tuple(neg_color)
        self.click_size = click_size

    # ------------------------------------------------------------------
    # numpy API
    # ------------------------------------------------------------------
    def _click_size(self, image: np.ndarray) -> int:
        if self.click_size is not None:
            return int(self.click_size)
        h, w = image.shape[:2]
        return max(8, int(round(0.015 * (h * h + w * w)**0.5)))

    def draw_masks(self,
                   image: np.ndarray,
                   masks: np.ndarray,
                   labels: Optional[Sequence[Optional[str]]] = None,
                   scores: Optional[Sequence[float]] = None,
                   colors: Optional[Sequence[Color]] = None) -> np.ndarray:
        """Draw binary ``masks`` ``[N, H, W]`` with their ``labels``
        (names; ``None`` or missing -> ``'object'`` / ``'object i'``) and
        optional ``scores``, using mmdet's instance drawing (mask fill,
        outline, label box at the mask's largest part)."""
        image = _rgb_image(image)
        masks = np.asarray(masks).astype(bool)
        if masks.ndim == 2:
            masks = masks[None]
        if masks.ndim != 3 or masks.shape[1:] != image.shape[:2]:
            raise ValueError(
                f'masks must be [N, H, W] with (H, W) = {image.shape[:2]} '
                f'of the image; got shape {masks.shape}')
        n = len(masks)
        if n == 0:
            return image.copy()
        names = [
            (labels[i] if labels is not None and i < len(labels)
             and labels[i] is not None else
             'object' if n == 1 else f'object {i + 1}') for i in range(n)
        ]
        if colors is None:
            colors = default_palette(n)
        inst = InstanceData(
            masks=masks, labels=np.arange(n, dtype=np.int64))
        if scores is not None:
            inst.scores = np.asarray(scores, dtype=np.float32)[:n]
        inst = _non_empty(inst)
        if len(inst) == 0:
            return image.copy()
        # mmdet keys the colour by label index: one label per mask here
        return self._draw_instances(image, inst, tuple(names),
                                    [tuple(c) for c in colors])

    def draw_prompts(self,
                     image: np.ndarray,
                     points: Optional[Sequence] = None,
                     point_labels: Optional[Sequence[int]] = None,
                     boxes: Optional[Sequence] = None,
                     scribbles: Optional[Sequence] = None,
                     scribble_labels: Optional[Sequence[int]] = None
                     ) -> np.ndarray:
        """Draw prompts in image pixels, ``(x, y)`` order.

        Args:
            points: ``[N, 2]`` clicks; ``point_labels`` ``[N]`` 1 positive
                (green), 0 negative (red); default all positive.
            boxes: ``[M, 4]`` xyxy boxes (positive colour).
            scribbles: list of ``[K, 2]`` polylines; ``scribble_labels`` as
                ``point_labels``.
        """
        image = _rgb_image(image)
        self.set_image(image)
        if boxes is not None and len(boxes):
            boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            self.draw_bboxes(boxes, edge_colors=[(255, 255, 255)] * len(boxes),
                             line_widths=self.line_width + 2)
            self.draw_bboxes(boxes, edge_colors=[self.pos_color] * len(boxes),
                             line_widths=self.line_width)
        if scribbles is not None:
            for i, line in enumerate(scribbles):
                positive = (scribble_labels is None
                            or int(scribble_labels[i]) == 1)
                self._draw_polyline(np.asarray(line, np.float64), positive)
        if points is not None and len(points):
            pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
            labels = (np.ones(len(pts), int) if point_labels is None else
                      np.asarray(point_labels).reshape(-1).astype(int))
            if len(labels) != len(pts):
                raise ValueError(f'{len(pts)} points but {len(labels)} '
                                 'point_labels')
            size = self._click_size(image)
            colors = [self.pos_color if lb == 1 else self.neg_color
                      for lb in labels]
            # matplotlib marker sizes are areas in points^2 (1 px = 1 pt)
            self.draw_points(pts, colors=colors, marker='o',
                             sizes=np.full(len(pts), float(size)**2))
            self.draw_points(pts, colors=[(255, 255, 255)] * len(pts),
                             marker='o',
                             sizes=np.full(len(pts), float(size // 3)**2))
        return self.get_image()

    def _draw_polyline(self, line: np.ndarray, positive: bool) -> None:
        if line.ndim != 2 or line.shape[-1] != 2 or len(line) == 0:
            raise ValueError('a scribble must be [K, 2] xy vertices; got '
                             f'shape {line.shape}')
        color = self.pos_color if positive else self.neg_color
        if len(line) == 1:
            self.draw_points(line, colors=[color], marker='o',
                             sizes=np.array([float(self.line_width * 3)**2]))
            return
        xs = np.stack([line[:-1, 0], line[1:, 0]], 1)
        ys = np.stack([line[:-1, 1], line[1:, 1]], 1)
        self.draw_lines(xs, ys, colors=[(255, 255, 255)] * len(xs),
                        line_widths=self.line_width + 3)
        self.draw_lines(xs, ys, colors=[color] * len(xs),
                        line_widths=self.line_width + 1)

    def draw_visual_prompts(self, image: np.ndarray, prompts) -> np.ndarray:
        """Draw a :class:`mmseem.structures.VisualPrompts` (rescaled to the
        image when it was built for another size): clicks, boxes,
        scribbles, polygon and mask outlines, by polarity."""
        image = _rgb_image(image)
        h, w = image.shape[:2]
        ph, pw = prompts.image_size
        if (ph, pw) != (h, w):
            prompts = prompts.rescale((w / pw, h / ph), new_size=(h, w))
        points, point_labels, boxes, lines, line_labels = [], [], [], [], []
        outlines = []
        for prims in prompts.prompts:
            for prim in prims:
                if prim.kind == 'point':
                    points.append(prim.data[0])
                    point_labels.append(int(prim.positive))
                elif prim.kind == 'box':
                    boxes.append(prim.data)
                elif prim.kind in ('scribble', 'polygon'):
                    line = prim.data
                    if prim.kind == 'polygon':
                        line = np.concatenate([line, line[:1]])
                    lines.append(line)
                    line_labels.append(int(prim.positive))
                elif prim.kind == 'mask':
                    outlines.append((prim.data, prim.positive))
        out = image
        for mask, positive in outlines:
            out = self._draw_outline(out, mask, positive)
        return self.draw_prompts(out, points or None, point_labels,
                                 boxes or None, lines or None, line_labels)

    def _draw_outline(self, image, mask, positive) -> np.ndarray:
        import cv2
        mask = np.asarray(mask).astype(np.uint8)
        if mask.shape != image.shape[:2]:
            mask = cv2.resize(mask, image.shape[1::-1],
                              interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        out = image.copy()
        color = self.pos_color if positive else self.neg_color
        cv2.drawContours(out, contours, -1, (255, 255, 255),
                         self.line_width + 2)
        cv2.drawContours(out, contours, -1, color, self.line_width)
        return out

    def draw_sentence(self, image: np.ndarray, text: Union[str, Sequence[str]],
                      font_size: Optional[int] = None) -> np.ndarray:
        """Write ``text`` (one line per sentence) at the top-left corner on
        a dark box."""
        image = _rgb_image(image)
        texts = [text] if isinstance(text, str) else list(text)
        texts = [t for t in texts if t]
        if not texts:
            return image.copy()
        h, w = image.shape[:2]
        if font_size is None:
            font_size = int(np.clip(min(h, w) / 28, 9, 20))
        self.set_image(image)
        self.draw_texts(
            '\n'.join(f'"{t}"' for t in texts),
            np.array([[4.0, 4.0]]),
            colors=[(255, 255, 255)],
            font_sizes=font_size,
            vertical_alignments='top',
            horizontal_alignments='left',
            bboxes=[{
                'facecolor': 'black',
                'alpha': 0.75,
                'pad': 0.4,
                'edgecolor': 'none'
            }])
        return self.get_image()

    # ------------------------------------------------------------------
    # mmengine visualizer API
    # ------------------------------------------------------------------
    def _draw_fields(self, image, sample, prefix, classes, palette,
                     pred_score_thr=0.0) -> np.ndarray:
        """Draw the ``{prefix}_*`` results of a sample: the panoptic map
        when there is one (SEEM's panoptic task also gives semantic and
        instance results, the same segments again), else the instances,
        else the semantic map (mmseg's ``data`` or mmdet's ``sem_seg``)."""
        num = len(classes) if classes is not None else 0
        pan = sample.get(f'{prefix}_panoptic_seg', None)
        if pan is not None and classes is not None:
            pan = pan.cpu().numpy()  # as mmdet's add_datasample
            if (pan.sem_seg % 1000 < num).any():  # not all void
                return self._draw_panoptic_seg(image, pan, classes, palette)
            return image
        inst = sample.get(f'{prefix}_instances', None)
        if inst is not None and 'masks' in inst:
            if 'scores' in inst:
                inst = inst[inst.scores > pred_score_thr]
            if 'texts' in inst:  # referring: one sentence per mask
                classes = tuple(inst.texts)
                palette = default_palette(len(classes))
                inst = inst.clone()
                inst.labels = np.arange(len(inst))
            elif 'labels' in inst and len(inst):
                inst = inst.clone()
                # -1 (no vocabulary) -> the first class
                inst.labels = np.asarray(inst.labels).clip(min=0)
            keep = _non_empty(InstanceData(**{
                k: inst.get(k)
                for k in ('masks', 'labels', 'scores', 'bboxes') if k in inst
            }))
            if len(keep):
                if classes is None or int(np.max(keep.labels)) >= num:
                    classes = tuple(
                        f'class {i}' for i in range(int(np.max(keep.labels))
                                                    + 1))
                    palette = default_palette(len(classes))
                return self._draw_instances(image, keep, classes, palette)
            return image
        sem = sample.get(f'{prefix}_sem_seg', None)
        if sem is not None and classes is not None:
            data = sem.sem_seg if 'sem_seg' in sem else sem.data
            data = np.asarray(data).copy()
            data[(data < 0) | (data >= num)] = 255  # void / ignore
            return self._draw_sem_seg(image, PixelData(sem_seg=data),
                                      classes, palette)
        return image

    def _draw_inputs(self, image, sample) -> np.ndarray:
        if 'visual_prompts' in sample:
            image = self.draw_visual_prompts(image, sample.visual_prompts)
        text = sample.get('text', None)
        if text:
            image = self.draw_sentence(image, text)
        return image

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3,
                       step: int = 0) -> None:
        """mmdet's ``add_datasample`` (GT panel | prediction panel) with the
        sample's prompts and sentence drawn on the prediction panel."""
        import mmcv
        image = image.clip(0, 255).astype(np.uint8)
        meta = self.dataset_meta or {}
        classes = meta.get('classes', None)
        palette = meta.get('palette', None)
        if classes is None:
            things = meta.get('thing_classes') or []
            stuff = meta.get('stuff_classes') or []
            classes = tuple(things) + tuple(stuff) or None
        if classes is not None and (palette is None
                                    or len(palette) < len(classes)):
            palette = default_palette(len(classes))
        panels = []
        if data_sample is not None:
            data_sample = data_sample.cpu()
            if draw_gt:
                gt = self._draw_fields(image, data_sample, 'gt', classes,
                                       palette)
                if gt is not image:
                    panels.append(gt)
            if draw_pred:
                pred = self._draw_fields(image, data_sample, 'pred', classes,
                                         palette, pred_score_thr)
                panels.append(self._draw_inputs(pred, data_sample))
        drawn = np.concatenate(panels, axis=1) if panels else image
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
