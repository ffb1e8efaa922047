"""One synthetic scene: textured stuff bands under overlapping shapes.

mmseem-specific (the embedded default data, written by :mod:`.writer`).
``sky`` top band, ``grass`` bottom band, ``wall`` in between (low-frequency
noise or gradient textures), under 2-4 "things" drawn back to front. The
thing category is the shape; its colour and size only appear in the
referring sentences (:mod:`.referring`).

Version 2 of the generator (``GENERATOR_VERSION``) changes, each to make the
set learnable by a small random-init model in a CPU budget:

* objects are larger (radius 12-27 % of the side instead of 7-24 %) and
  fewer (2-4 instead of 3-6), so the coarsest level (4 x 4 cells at 128 px)
  sees them;
* each thing class has its own surface pattern (:data:`CLASS_PATTERNS`:
  plain, horizontal / vertical / diagonal stripes, checkerboard) on top of
  its named colour, and stuff has no stripes. A 2-core CPU budget does not
  teach a from-scratch CNN to tell a star from a cross by contour alone
  (v1: a linear probe on learned features stayed at chance), while real
  categories are told apart by local appearance as much as by outline (fur,
  wheels, leaves). Masks are still the exact shapes, colours stay
  independent of the class (the sentences need them), so panoptic quality,
  referring and clicks still measure segmentation.

Version 3 gives the objects of one image distinct colours (still drawn
at random, independent of the class). With repeated colours, two objects
of one class and colour look the same everywhere but in position, and
telling them apart by position alone is what a random-init model does not
learn in a CPU budget: trained on version 2, SEEM small segmented every
object of the clicked colour and its clicks (negative ones included) could
not take the look-alike out (NoC@85 8.0). Shapes still repeat, so "the
star left of the red circle" and superlatives stay in the sentences.

Public entry point: :func:`make_scene` (one seeded scene with its
sentences; tools such as ``benchmark_speed.py`` use it).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .constants import (SYNTHETIC_COLORS, SYNTHETIC_NUM_OBJECTS,
                        SYNTHETIC_SIZES, SYNTHETIC_STUFF_CLASSES,
                        SYNTHETIC_THING_CLASSES)

_MIN_VISIBLE = 0.5  # an occluded object keeps >= half of its pixels
#: Surface pattern of each thing class (version 2, see the module doc).
CLASS_PATTERNS = dict(circle='plain', square='hstripes',
                      triangle='vstripes', star='checker',
                      cross='dstripes')
_PATTERN_AMP = 45.0  # brightness swing of the class pattern
_PATTERN_PERIOD = 1 / 14  # of the image side (9 px at 128 px)


@dataclass
class SceneObject:
    """One thing of a scene; ``mask`` is its visible part [H, W] bool."""
    shape: str
    color: str
    size: str
    cx: float
    cy: float
    radius: float
    angle: float
    mask: np.ndarray
    full_area: int

    @property
    def label(self) -> int:
        return SYNTHETIC_THING_CLASSES.index(self.shape)

    def attributes(self, layout: np.ndarray) -> Dict:
        """The record the referring expressions resolve against (and the
        ``object_attributes`` entry of ``refs_{split}.json``)."""
        ys, xs = np.nonzero(self.mask)
        regions = {n: round(float((layout[self.mask] == s).mean()), 4)
                   for s, n in enumerate(SYNTHETIC_STUFF_CLASSES)}
        return dict(shape=self.shape, color=self.color, size=self.size,
                    area=int(self.mask.sum()),
                    cx=round(float(xs.mean()), 2),
                    cy=round(float(ys.mean()), 2), regions=regions)


@dataclass
class SyntheticScene:
    """A generated scene.

    ``image``: [H, W, 3] uint8 RGB; ``layout``: [H, W] stuff index (0 sky,
    1 grass, 2 wall) under the things; ``objects``: back to front;
    ``sentences``: ``(object index, sentence)`` pairs, each sentence
    singling out that object (empty unless ``with_sentences``).
    """
    image: np.ndarray
    layout: np.ndarray
    objects: List[SceneObject]
    sentences: List[Tuple[int, str]] = field(default_factory=list)
    expressions: Dict[int, List[dict]] = field(default_factory=dict)

    def stuff_masks(self) -> List[Tuple[int, np.ndarray]]:
        """``(stuff index, visible [H, W] bool)`` of each stuff present."""
        covered = np.zeros(self.layout.shape, bool)
        for o in self.objects:
            covered |= o.mask
        out = []
        for s in range(len(SYNTHETIC_STUFF_CLASSES)):
            m = (self.layout == s) & ~covered
            if m.any():
                out.append((s, m))
        return out


# --------------------------------------------------------------- textures
def _texture(rng, h, w, base, amp, kinds=3):
    """A ``(h, w, 3)`` float texture: noise, gradient (or stripes)."""
    kind = rng.integers(kinds)
    base = np.asarray(base, np.float32) + rng.uniform(-20, 20, 3)
    if kind == 0:  # low-frequency noise
        cells = int(rng.integers(3, 9))
        small = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
        pattern = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    else:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        theta = rng.uniform(0, np.pi)
        proj = (xx * np.cos(theta) + yy * np.sin(theta)) / max(h, w)
        if kind == 1:  # linear gradient
            pattern = (proj - proj.mean())[..., None] * 2
        else:  # stripes
            freq = rng.uniform(3, 10)
            pattern = np.sin(2 * np.pi * freq * proj)[..., None]
        pattern = pattern * rng.uniform(0.5, 1.0, 3).astype(np.float32)
    grain = rng.normal(0, 0.15, (h, w, 1)).astype(np.float32)
    return base + amp * (pattern + grain)


def _class_pattern(rng, size, name):
    """[size, size, 1] float in [-1, 1]: the surface pattern of a class."""
    kind = CLASS_PATTERNS[name]
    if kind == 'plain':
        return np.zeros((size, size, 1), np.float32)
    period = _PATTERN_PERIOD * size * rng.uniform(0.9, 1.1)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy, xx = yy + rng.uniform(0, period), xx + rng.uniform(0, period)
    wave = {
        'hstripes': lambda: np.sin(2 * np.pi * yy / period),
        'vstripes': lambda: np.sin(2 * np.pi * xx / period),
        'dstripes': lambda: np.sin(2 * np.pi * (xx + yy) / period),
        'checker': lambda: np.sin(np.pi * xx / period * 2) * np.sin(
            np.pi * yy / period * 2) * 2,
    }[kind]()
    return np.clip(wave, -1, 1)[..., None].astype(np.float32)


def _stuff_base(rng, name):
    if name == 'sky':
        return (110 + rng.integers(60), 170 + rng.integers(50), 235), 25
    if name == 'grass':
        return (60 + rng.integers(40), 120 + rng.integers(50),
                40 + rng.integers(30)), 30
    grey = 120 + rng.integers(60)
    return (grey + 15, grey, grey - 20 + rng.integers(30)), 25


def _stuff_layout(rng, size):
    """Label map ``(size, size)`` of stuff indices (0 sky, 1 grass, 2 wall)
    with wavy band boundaries."""
    xs = np.arange(size, dtype=np.float32)
    rows = np.arange(size, dtype=np.float32)[:, None]
    layout = np.full((size, size), 2, np.int64)

    def wave():
        amp = rng.uniform(0, 0.05) * size
        freq = rng.uniform(0.5, 2.5)
        return amp * np.sin(2 * np.pi * freq * xs / size
                            + rng.uniform(0, 2 * np.pi))

    if rng.random() < 0.8:
        top = rng.uniform(0.15, 0.35) * size + wave()
        layout[rows < top[None]] = 0
    if rng.random() < 0.8:
        bottom = size - rng.uniform(0.15, 0.35) * size + wave()
        layout[rows >= bottom[None]] = 1
    return layout


# ----------------------------------------------------------------- shapes
def shape_mask(shape, cx, cy, r, angle, size):
    """[size, size] bool mask of one shape of circumradius ~``r``."""
    mask = np.zeros((size, size), np.uint8)
    if shape == 'circle':
        cv2.circle(mask, (int(round(cx)), int(round(cy))), int(round(r)), 1,
                   -1)
        return mask.astype(bool)
    if shape == 'square':
        pts = [(np.pi / 4 + k * np.pi / 2, r) for k in range(4)]
    elif shape == 'triangle':
        pts = [(-np.pi / 2 + k * 2 * np.pi / 3, r * 1.15) for k in range(3)]
    elif shape == 'star':
        pts = [(-np.pi / 2 + k * np.pi / 5, r * 1.15 if k % 2 == 0 else
                r * 0.48) for k in range(10)]
    else:  # cross: 12-gon with arm half-width r / 3
        a, b = r / 3, r
        xy = [(a, b), (a, a), (b, a), (b, -a), (a, -a), (a, -b), (-a, -b),
              (-a, -a), (-b, -a), (-b, a), (-a, a), (-a, b)]
        pts = [(np.arctan2(y, x), np.hypot(x, y)) for x, y in xy]
    poly = np.array([(cx + d * np.cos(t + angle), cy + d * np.sin(t + angle))
                     for t, d in pts])
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def _has_hole(mask):
    contours, hierarchy = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return hierarchy is not None and bool((hierarchy[0][:, 3] >= 0).any())


def _place_objects(rng, size, num_objects):
    """Sample objects back to front; a placement is rejected when it would
    hide more than half of an earlier object or punch a hole in it (COCO
    polygons cannot describe holes)."""
    shapes = rng.choice(len(SYNTHETIC_THING_CLASSES),
                        size=int(rng.integers(2, 4)), replace=False)
    # version 3: the objects of an image have distinct colours (module doc)
    if num_objects > len(SYNTHETIC_COLORS):
        raise ValueError(f'{num_objects} objects need as many distinct '
                         f'colours; there are {len(SYNTHETIC_COLORS)}')
    colors = rng.permutation(len(SYNTHETIC_COLORS))
    objs: List[SceneObject] = []
    for i in range(num_objects):
        shape = SYNTHETIC_THING_CLASSES[int(rng.choice(shapes))]
        color = list(SYNTHETIC_COLORS)[int(colors[i])]
        size_word = 'small' if rng.random() < 0.55 else 'large'
        lo, hi = SYNTHETIC_SIZES[size_word]
        for _try in range(20):
            r = rng.uniform(lo, hi) * size
            if objs and rng.random() < 0.5:  # encourage overlap
                ref = objs[int(rng.integers(len(objs)))]
                t = rng.uniform(0, 2 * np.pi)
                d = (ref.radius + r) * rng.uniform(0.5, 1.0)
                cx, cy = ref.cx + d * np.cos(t), ref.cy + d * np.sin(t)
            else:
                cx, cy = rng.uniform(0.6 * r, size - 0.6 * r, 2)
            if not (0.6 * r <= cx <= size - 0.6 * r
                    and 0.6 * r <= cy <= size - 0.6 * r):
                continue
            angle = rng.uniform(-0.35, 0.35)
            full = shape_mask(shape, cx, cy, r, angle, size)
            if full.sum() < 12:
                continue
            ok = True
            for o in objs:
                vis = o.mask & ~full
                if vis.sum() < _MIN_VISIBLE * o.full_area or _has_hole(vis):
                    ok = False
                    break
            if ok:
                for o in objs:
                    o.mask = o.mask & ~full
                objs.append(SceneObject(shape, color, size_word, cx, cy, r,
                                        angle, full, int(full.sum())))
                break
    return objs


def _render(rng, size, layout, objs):
    img = np.zeros((size, size, 3), np.float32)
    for k, name in enumerate(SYNTHETIC_STUFF_CLASSES):
        region = layout == k
        if region.any():
            base, amp = _stuff_base(rng, name)
            # noise / gradient only: stripes are the things' patterns
            img[region] = _texture(rng, size, size, base, amp, 2)[region]
    for o in objs:  # back to front; o.mask is already the visible part
        base = np.asarray(SYNTHETIC_COLORS[o.color], np.float32)
        tex = _texture(rng, size, size, base, 12)
        tex += _PATTERN_AMP * _class_pattern(rng, size, o.shape)
        img[o.mask] = tex[o.mask]
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_scene(rng: np.random.Generator, size: int) -> SyntheticScene:
    """A scene (no sentences) from a numpy Generator."""
    layout = _stuff_layout(rng, size)
    objs = _place_objects(rng, size, int(rng.integers(
        *SYNTHETIC_NUM_OBJECTS)))
    img = _render(rng, size, layout, objs)
    return SyntheticScene(img, layout, objs)


def make_scene(image_size: int = 128, seed: int = 0, index: int = 0,
               split: str = 'train',
               with_sentences: bool = True) -> SyntheticScene:
    """The ``index``-th scene of ``split`` exactly as
    :func:`~.writer.generate_synthetic_coco` writes it with ``seed`` (same
    image, masks and sentences; image ids start after the train split)."""
    from .referring import make_refs, sentence  # referring imports scene
    split_idx = ('train', 'val').index(split)
    rng = np.random.default_rng([seed, split_idx, index])
    scene = draw_scene(rng, image_size)
    if with_sentences:
        attrs = [o.attributes(scene.layout) for o in scene.objects]
        scene.expressions = make_refs(rng, attrs, image_size)
        scene.sentences = [(j, sentence(rng, e))
                           for j, exprs in scene.expressions.items()
                           for e in exprs]
    return scene
