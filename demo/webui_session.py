"""State and logic of the SEEM web demo (``demo/webui.py``), without Gradio.

Everything the page does that can go wrong lives here, so it is unit-tested
without a browser: checking uploads, the prompt history of the current
image (clicks by polarity, a box from two corner clicks, scribbles), undo /
reset, building the prompts for :class:`mmseem.apis.SEEMPredictor`, the
referring / visual-referring / panoptic requests and the drawing
(:class:`mmseem.visualization.SEEMVisualizer`).

Interaction model (decisions):

* The image's features are computed once (``SEEMPredictor.set_image``);
  every click, box or scribble adds one element to **one** object's prompt
  and runs one round of the prompt path with the previous round's mask as
  memory (SEEM's multi-round refinement).
* Undo removes the last action. Undoing a visual prompt replays the rounds
  that remain from a fresh memory, so the state after undo is exactly the
  state the user had before that action. Reset forgets every prompt of the
  image (the features stay).
* Referring (a sentence), visual referring (a region of a second image) and
  panoptic (with the edited vocabulary) are actions too: they show their
  own result and undo goes back to the previous one; they do not change the
  clicked object's prompt.
* Bad input (not an image, an image over ``max_pixels``, a prompt outside
  the image, an empty sentence) raises :class:`DemoError` with a message
  for the page.
"""
import math
from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence, Tuple

import numpy as np

MAX_PIXELS = 4096 * 4096
MAX_UPLOAD_MB = 20
IMAGE_TYPES = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')
INSTANCE_OFFSET = 1000  # mmdet's panoptic id = label + id * INSTANCE_OFFSET


class DemoError(ValueError):
    """A user error, shown as is in the page."""


@dataclass(frozen=True)
class Result:
    """What the page shows: masks ``[N, H, W]`` with their names."""
    kind: str  # 'interactive' | 'referring' | 'reference' | 'panoptic'
    masks: np.ndarray
    label_names: Tuple[Optional[str], ...] = ()
    scores: Optional[np.ndarray] = None
    text: Optional[str] = None


@dataclass(frozen=True)
class Action:
    """One user action on the current image."""
    # 'click' | 'box' | 'scribble' | 'text' | 'reference' | 'panoptic'
    kind: str
    xy: Tuple[float, ...] = ()  # click (x, y) or box (x1, y1, x2, y2)
    positive: bool = True
    mask: Optional[np.ndarray] = None  # scribble mask [H, W]
    text: Optional[str] = None
    result: Optional[Result] = None

    @property
    def is_visual(self) -> bool:
        return self.kind in ('click', 'box', 'scribble')


@dataclass
class Session:
    """The demo's state for one browser tab."""
    image: Optional[np.ndarray] = None
    actions: List[Action] = field(default_factory=list)
    box_corner: Optional[Tuple[float, float]] = None


def check_image(image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An upload -> RGB ``uint8`` ``[H, W, 3]``, or :class:`DemoError`."""
    from mmseem.apis import load_image
    if image is None:
        raise DemoError('No image: upload an image first (PNG or JPEG).')
    if isinstance(image, str):
        import os
        ext = os.path.splitext(image)[1].lower()
        if ext not in IMAGE_TYPES:
            raise DemoError(
                f'{os.path.basename(image)!r} is not an image file; upload '
                f'one of {", ".join(IMAGE_TYPES)}.')
        try:
            from PIL import Image
            with Image.open(image) as im:
                w, h = im.size
        except Exception as err:  # noqa: BLE001  (any decoder error)
            raise DemoError(f'Cannot read the upload as an image ({err}); '
                            'upload a PNG or JPEG file.') from None
        _check_pixels(h, w, max_pixels)
    elif hasattr(image, 'shape'):
        _check_pixels(image.shape[0], image.shape[1], max_pixels)
    try:
        rgb = load_image(image)
    except (ValueError, TypeError, OSError) as err:
        raise DemoError(f'Cannot use this image: {err}') from None
    _check_pixels(rgb.shape[0], rgb.shape[1], max_pixels)
    return rgb


def _check_pixels(h: int, w: int, max_pixels: int) -> None:
    if h * w > max_pixels:
        side = int(math.sqrt(max_pixels))
        raise DemoError(
            f'The image is {w} x {h} pixels ({h * w / 1e6:.1f} MP); this demo '
            f'accepts at most {max_pixels / 1e6:.1f} MP (e.g. {side} x '
            f'{side}): downscale it and upload it again.')


def parse_vocabulary(things: str, stuff: str = '') -> Tuple[List[str],
                                                            List[str]]:
    """Comma-separated class names -> (thing_classes, stuff_classes)."""

    def split(text):
        return [t.strip() for t in (text or '').split(',') if t.strip()]

    t, s = split(things), split(stuff)
    if not t and not s:
        raise DemoError('The vocabulary is empty: enter class names '
                        'separated by commas, e.g. "person, dog".')
    dup = sorted({n for n in t + s if (t + s).count(n) > 1})
    if dup:
        raise DemoError(f'Class names must be unique; repeated: {dup}.')
    return t, s


def editor_mask(value, size: Tuple[int, int]) -> Optional[np.ndarray]:
    """The painted pixels of a Gradio ``ImageEditor`` value (its layers'
    alpha, or the composite's difference to the background) as a bool
    ``[H, W]`` mask of ``size``; ``None`` when nothing was painted."""
    if value is None:
        return None
    layers = value.get('layers') if isinstance(value, dict) else None
    mask = None
    for layer in layers or []:
        if layer is None:
            continue
        arr = np.asarray(layer)
        if arr.ndim == 3 and arr.shape[-1] == 4:
            painted = arr[..., 3] > 0
        elif arr.ndim == 3:
            painted = arr.max(axis=-1) > 0
        else:
            painted = arr > 0
        mask = painted if mask is None else (mask | painted)
    if mask is None or not mask.any():
        return None
    if mask.shape != tuple(size):
        import cv2
        mask = cv2.resize(mask.astype(np.uint8), (size[1], size[0]),
                          interpolation=cv2.INTER_NEAREST) > 0
    return mask


def panoptic_to_masks(pan: np.ndarray, names: Sequence[str]):
    """mmdet panoptic map ``label + id * INSTANCE_OFFSET`` (void =
    ``len(names)``) -> (masks ``[N, H, W]``, names)."""
    masks, labels = [], []
    for seg in np.unique(pan):
        label = int(seg) % INSTANCE_OFFSET
        if label >= len(names):
            continue
        masks.append(pan == seg)
        labels.append(names[label])
    if not masks:
        return np.zeros((0, ) + pan.shape, bool), ()
    return np.stack(masks), tuple(labels)


class DemoEngine:
    """The demo's model side: a :class:`SEEMPredictor` and the drawing.

    Args:
        predictor (SEEMPredictor): with its model.
        model_info (str): what the page says about the loaded model.
        max_pixels (int): largest accepted image.
    """

    def __init__(self, predictor, model_info: str = '',
                 max_pixels: int = MAX_PIXELS):
        from mmseem.visualization import SEEMVisualizer
        self.predictor = predictor
        self.model_info = model_info
        self.max_pixels = max_pixels
        self.visualizer = SEEMVisualizer(name=f'seem_webui_{id(self)}',
                                         alpha=0.55)
        self._image_key = None

    # ------------------------------------------------------------------
    def vocabulary(self) -> Tuple[List[str], List[str]]:
        try:
            things, stuff = self.predictor.model.get_vocabulary()
        except ValueError:
            return [], []
        return list(things), list(stuff)

    def new_session(self, image) -> Session:
        """Check an upload and compute its features once."""
        rgb = check_image(image, self.max_pixels)
        self._set_features(rgb)
        return Session(image=rgb)

    def _set_features(self, rgb: np.ndarray) -> None:
        key = (rgb.shape, hash(rgb.tobytes()))
        if key != self._image_key:  # one browser tab at a time
            self.predictor.set_image(rgb)
            self._image_key = key

    def _require(self, session: Optional[Session]) -> Session:
        if session is None or session.image is None:
            raise DemoError('No image: upload an image first.')
        self._set_features(session.image)
        return session

    # ------------------------------------------------------------------
    # visual prompts
    # ------------------------------------------------------------------
    def _check_xy(self, session: Session, x: float, y: float) -> None:
        h, w = session.image.shape[:2]
        if not (0 <= x <= w and 0 <= y <= h):
            raise DemoError(
                f'The point (x={x:g}, y={y:g}) is outside the image '
                f'({w} x {h}); click inside it.')

    def visual_prompts(self, actions: Sequence[Action], size):
        """The one object's :class:`VisualPrompts` made of ``actions``."""
        from mmseem.structures import VisualPrompts
        clicks = [a for a in actions if a.kind == 'click']
        boxes = [a for a in actions if a.kind == 'box']
        scribbles = [a for a in actions if a.kind == 'scribble']
        sets = []
        if clicks:
            sets.append(VisualPrompts.build(
                size, points=[[a.xy for a in clicks]],
                point_labels=[[int(a.positive) for a in clicks]],
                allow_negative_only=True))
        for a in boxes:
            sets.append(VisualPrompts.build(size, boxes=[a.xy]))
        for a in scribbles:
            sets.append(VisualPrompts.build(size, masks=a.mask[None]))
        if not sets:
            return None
        vp = sets[0]
        for other in sets[1:]:
            vp = vp.merge(other)
        return vp

    def _round(self, session: Session, actions: Sequence[Action]) -> Result:
        vp = self.visual_prompts(actions, session.image.shape[:2])
        if not any(a.is_visual and a.positive for a in actions):
            raise DemoError('Add a positive click, a box or a scribble first:'
                            ' a negative click alone does not point at an '
                            'object.')
        out = self.predictor.predict(prompts=vp)
        return Result('interactive', out['masks'],
                      tuple(out['label_names']), out['scores'])

    def _push_visual(self, session: Session, action: Action) -> Result:
        visual = [a for a in session.actions if a.is_visual] + [action]
        if len(visual) == 1:
            self.predictor.reset()  # a new object: no memory yet
        result = self._round(session, visual)
        session.actions.append(replace(action, result=result))
        return result

    def click(self, session: Session, x: float, y: float,
              positive: bool = True) -> Result:
        """A positive / negative click at pixel ``(x, y)``."""
        session = self._require(session)
        self._check_xy(session, x, y)
        return self._push_visual(
            session, Action('click', (float(x), float(y)), bool(positive)))

    def box_corner(self, session: Session, x: float,
                   y: float) -> Optional[Result]:
        """First call: remember a corner; second call: add the box."""
        session = self._require(session)
        self._check_xy(session, x, y)
        if session.box_corner is None:
            session.box_corner = (float(x), float(y))
            return None
        (x0, y0), session.box_corner = session.box_corner, None
        box = (min(x0, x), min(y0, y), max(x0, x), max(y0, y))
        if box[2] - box[0] < 1 or box[3] - box[1] < 1:
            raise DemoError('The box is empty: click two different corners.')
        return self._push_visual(session, Action('box', box))

    def scribble(self, session: Session,
                 mask: Optional[np.ndarray]) -> Result:
        """A (positive) scribble given as the painted mask ``[H, W]``."""
        session = self._require(session)
        if mask is None or not np.asarray(mask).any():
            raise DemoError('Nothing was drawn: paint on the image with the '
                            'brush, then press "Segment scribble".')
        mask = np.asarray(mask).astype(bool)
        if mask.shape != session.image.shape[:2]:
            raise DemoError(f'The scribble is {mask.shape} but the image is '
                            f'{session.image.shape[:2]}.')
        return self._push_visual(session,
                                 Action('scribble', mask=mask))

    # ------------------------------------------------------------------
    # text, reference image, panoptic
    # ------------------------------------------------------------------
    def refer(self, session: Session, text: str) -> Result:
        """Referring segmentation with a sentence."""
        session = self._require(session)
        text = (text or '').strip()
        if not text:
            raise DemoError('Type a sentence describing the object, e.g. '
                            '"the dog on the left".')
        out = self.predictor.predict_text(text)
        result = Result('referring', out['masks'], (text, ), out['scores'],
                        text=text)
        session.actions.append(Action('text', text=text, result=result))
        return result

    def refer_image(self, session: Session, ref_image,
                    ref_mask: Optional[np.ndarray]) -> Result:
        """Visual referring: segment what ``ref_mask`` marks in
        ``ref_image`` (a second image) in the current image."""
        session = self._require(session)
        ref = check_image(ref_image, self.max_pixels)
        if ref_mask is None or not np.asarray(ref_mask).any():
            raise DemoError('Mark a region of the reference image with the '
                            'brush first.')
        ref_mask = np.asarray(ref_mask).astype(bool)
        if ref_mask.shape != ref.shape[:2]:
            raise DemoError('The marked region does not match the reference '
                            'image size.')
        out = self.predictor.predict_reference(ref, dict(masks=ref_mask[None]))
        result = Result('reference', out['masks'], ('reference', ),
                        out['scores'])
        session.actions.append(Action('reference', result=result))
        return result

    def panoptic(self, session: Session, things: str,
                 stuff: str = '') -> Result:
        """Panoptic segmentation with the given vocabulary (set on the model
        for the later rounds' labels too)."""
        session = self._require(session)
        t, s = parse_vocabulary(things, stuff)
        self.predictor.set_vocabulary(t, s)
        pan = self._panoptic_map(session.image)
        masks, names = panoptic_to_masks(pan, t + s)
        result = Result('panoptic', masks, names)
        session.actions.append(
            Action('panoptic', text=f'{", ".join(t)}; {", ".join(s)}',
                   result=result))
        return result

    def _panoptic_map(self, rgb: np.ndarray) -> np.ndarray:
        """Panoptic map of ``rgb`` with the model's public API
        (``extract_feat`` + ``predict_generic``, as ``SEEMInferencer``)."""
        import torch

        from mmseem.apis import build_inference_pipeline
        model = self.predictor.model
        cfg = getattr(model, 'cfg', None)
        pipeline = build_inference_pipeline(
            cfg.get('test_pipeline') if cfg is not None else None)
        packed = pipeline(rgb[..., ::-1].copy())
        with torch.no_grad():
            data = model.data_preprocessor(
                dict(inputs=[packed['inputs']],
                     data_samples=[packed['data_samples']]), False)
            feats = model.extract_feat(data['inputs'])
            sample = model.predict_generic(feats, data['data_samples'],
                                           'panoptic')[0]
        return sample.pred_panoptic_seg.sem_seg[0].cpu().numpy()

    # ------------------------------------------------------------------
    # undo / reset
    # ------------------------------------------------------------------
    def undo(self, session: Session) -> Optional[Result]:
        """Remove the last action; returns the result now shown."""
        session = self._require(session)
        if session.box_corner is not None:
            session.box_corner = None
            return self.current(session)
        if not session.actions:
            raise DemoError('Nothing to undo.')
        last = session.actions.pop()
        if last.is_visual:
            # replay the remaining rounds from a fresh memory
            self.predictor.reset()
            visual = [a for a in session.actions if a.is_visual]
            for k in range(1, len(visual) + 1):
                self._round(session, visual[:k])
        return self.current(session)

    def reset(self, session: Session) -> None:
        """Forget every prompt of the image (features are kept)."""
        session = self._require(session)
        session.actions.clear()
        session.box_corner = None
        self.predictor.reset()

    @staticmethod
    def current(session: Session) -> Optional[Result]:
        return session.actions[-1].result if session.actions else None

    # ------------------------------------------------------------------
    # drawing
    # ------------------------------------------------------------------
    def render(self, session: Optional[Session]) -> Optional[np.ndarray]:
        """The image with the current result and the prompts."""
        if session is None or session.image is None:
            return None
        image = session.image
        result = self.current(session)
        vis = self.visualizer
        if result is not None and len(result.masks):
            image = vis.draw_masks(image, result.masks,
                                   list(result.label_names) or None,
                                   result.scores)
        visual = [a for a in session.actions if a.is_visual]
        show_prompts = result is None or result.kind == 'interactive'
        if visual and show_prompts:
            vp = self.visual_prompts(visual, image.shape[:2])
            image = vis.draw_visual_prompts(image, vp)
        if session.box_corner is not None:
            image = vis.draw_prompts(image, points=[session.box_corner],
                                     point_labels=[1])
        if result is not None and result.text and result.kind == 'referring':
            image = vis.draw_sentence(image, result.text)
        return image

    def describe(self, session: Optional[Session]) -> str:
        """One line for the status box."""
        if session is None or session.image is None:
            return 'Upload an image.'
        result = self.current(session)
        h, w = session.image.shape[:2]
        head = f'Image {w} x {h}. '
        if session.box_corner is not None:
            return head + 'Box: click the opposite corner.'
        if result is None:
            return head + 'Click on an object, draw a box or a scribble, ' \
                'or type a sentence.'
        areas = [int(m.sum()) for m in result.masks]
        names = [n or 'object' for n in result.label_names] or \
            ['object'] * len(areas)
        parts = ', '.join(f'{n} ({a} px)' for n, a in zip(names, areas))
        rounds = sum(a.is_visual for a in session.actions)
        extra = f', round {rounds}' if result.kind == 'interactive' else ''
        return head + f'{result.kind}{extra}: {len(areas)} mask(s): ' \
            f'{parts or "none"}.'


def load_engine(config: str, checkpoint: Optional[str] = None,
                device: str = 'cpu', seed: int = 0,
                max_pixels: int = MAX_PIXELS) -> DemoEngine:
    """Build the model of ``config`` (weights from ``checkpoint``: a
    converted official checkpoint or an mmseem training checkpoint; random
    weights, seeded, when ``None``) and the demo engine around it."""
    import os

    import torch

    from mmseem.apis import SEEMPredictor
    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise DemoError(f'checkpoint {checkpoint!r} does not exist; give a '
                        'converted official checkpoint (tools/model_'
                        'converters) or a training checkpoint, or omit '
                        '--checkpoint for random weights')
    if not os.path.isfile(config):
        raise DemoError(f'config {config!r} does not exist')
    torch.manual_seed(seed)
    predictor = SEEMPredictor.from_config(config, checkpoint, device=device)
    name = os.path.basename(config)
    if checkpoint is None:
        info = (f'Model: {name} with RANDOM weights (no --checkpoint): '
                'masks are meaningless; start with --checkpoint for real '
                'results.')
    else:
        info = f'Model: {name}, weights: {os.path.basename(checkpoint)}.'
    return DemoEngine(predictor, info, max_pixels=max_pixels)
