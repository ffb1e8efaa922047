"""Shape geometry of SEEM's initial visual prompts (polygons, strokes).

SEEM-specific, not in mmdet/mmseg: the curve and free-form brush-stroke
generators of the official samplers (``datasets/visual_sampler/polygon.py``,
``scribble.py``, ``circle.py``, ``mask_generators.py``), used by
:class:`mmseem.models.task_modules.InteractivePromptSimulator` to draw
polygon, scribble and circle prompts on ``[H, W]`` canvases.
"""
import math
from typing import Tuple

import cv2
import numpy as np

__all__ = ['STROKE_PRESETS', 'bezier_closed_curve', 'free_form_strokes']

# Free-form stroke presets of the official scribble / circle samplers
# (datasets/visual_sampler/scribble.py, circle.py): number of control
# vertices, head speed / acceleration (speed, angle), brush width, and the
# random move applied to the whole stroke and to some of its vertices.
STROKE_PRESETS = {
    'rand_curve':
    dict(vertices=(10, 30),
         head_speed=20,
         head_acc=(15, 0.5),
         brush=(3, 10),
         move_ratio=0.5,
         point_move=3,
         init_speed=6),
    'rand_curve_small':
    dict(vertices=(6, 22),
         head_speed=12,
         head_acc=(8, 0.5),
         brush=(2.5, 5),
         move_ratio=0.5,
         point_move=1.5,
         init_speed=3),
    'object_like':
    dict(vertices=(5, 30),
         head_speed=15,
         head_acc=(10, 1.5),
         brush=(20, 50),
         move_ratio=0.5,
         point_move=10,
         init_speed=10),
    'object_like_middle':
    dict(vertices=(5, 15),
         head_speed=8,
         head_acc=(4, 1.5),
         brush=(20, 50),
         move_ratio=0.5,
         point_move=5,
         init_speed=10),
    'object_like_small':
    dict(vertices=(5, 20),
         head_speed=7,
         head_acc=(3.5, 1.5),
         brush=(10, 30),
         move_ratio=0.5,
         point_move=5,
         init_speed=4),
}


def bezier_closed_curve(points: np.ndarray,
                         rad: float = 0.2,
                         edgy: float = 0.05,
                         num: int = 100) -> np.ndarray:
    """Smooth closed curve through ``points`` ([n, 2] xy), as ``[m, 2]``.

    Official polygon sampler (``polygon.py`` ``get_bezier_curve``): sort the
    points by angle around their mean, close the ring, and join neighbours by
    cubic Bezier segments whose inner control points leave each vertex along
    a blend (weight ``arctan(edgy)/pi + 0.5``) of its incoming and outgoing
    edge directions, at ``rad`` times the segment length.
    """
    centred = points - points.mean(0)
    ring = points[np.argsort(np.arctan2(centred[:, 0], centred[:, 1]))]
    ring = np.concatenate([ring, ring[:1]])
    delta = np.diff(ring, axis=0)
    ang = np.arctan2(delta[:, 1], delta[:, 0])
    ang = np.where(ang < 0, ang + 2 * np.pi, ang)
    prev_ang = np.roll(ang, 1)
    p = np.arctan(edgy) / np.pi + 0.5
    wrap = (np.abs(prev_ang - ang) > np.pi) * np.pi
    ang = p * ang + (1 - p) * prev_ang + wrap
    ang = np.append(ang, ang[0])
    t = np.linspace(0, 1, num)[:, None]
    curves = []
    for i in range(len(ring) - 1):
        p0, p3 = ring[i], ring[i + 1]
        r = rad * np.linalg.norm(p3 - p0)
        p1 = p0 + r * np.array([np.cos(ang[i]), np.sin(ang[i])])
        p2 = p3 + r * np.array(
            [np.cos(ang[i + 1] + np.pi),
             np.sin(ang[i + 1] + np.pi)])
        curves.append((1 - t)**3 * p0 + 3 * (1 - t)**2 * t * p1 + 3 *
                      (1 - t) * t**2 * p2 + t**3 * p3)
    return np.concatenate(curves)


def free_form_strokes(init_xy: np.ndarray, size: Tuple[int, int],
                       preset: dict, rng: np.random.Generator) -> np.ndarray:
    """Free-form brush strokes starting at ``init_xy`` ([S, 2]) -> [H, W].

    Official ``mask_generators.py`` ``get_mask_by_input_strokes`` (the
    free-form inpainting-mask generator of Yu et al.): a random walk of
    control vertices with accelerating head speed/angle, then the whole
    stroke is shifted by a random velocity and half of its vertices jitter;
    lines of the brush width join the vertices, with a disk on each.
    Numpy's ``randint`` on the float presets truncates the bounds, as here.
    """
    h, w = size
    canvas = np.zeros((h, w), dtype=np.uint8)
    d_speed, d_angle = preset['head_acc']
    jitter = int(preset['point_move'])
    for x0, y0 in init_xy:
        width = int(
            rng.integers(int(preset['brush'][0]), int(preset['brush'][1])))
        n_vertex = int(rng.integers(*preset['vertices']))
        angle = rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(0, preset['head_speed'])
        xs, ys = [float(x0)], [float(y0)]
        for _ in range(n_vertex):
            speed = float(
                np.clip(speed + rng.uniform(-d_speed, d_speed), 0,
                        preset['head_speed']))
            angle += rng.uniform(-d_angle, d_angle)
            xs.append(xs[-1] + speed * math.sin(angle))
            ys.append(ys[-1] + speed * math.cos(angle))
        xs, ys = np.array(xs), np.array(ys)
        # shift the whole stroke by a random velocity
        v_speed = abs(rng.normal(0, preset['init_speed'] / 2))
        v_angle = rng.uniform(0, 2 * np.pi)
        xs += int(v_speed * math.cos(v_angle))
        ys += int(v_speed * math.sin(v_angle))
        moved = rng.permutation(len(xs))[:int(len(xs) * preset['move_ratio'])]
        if jitter > 0:
            for i in moved:
                xs[i] += rng.integers(-jitter, jitter)
                ys[i] += rng.integers(-jitter, jitter)
        pts = np.round(np.stack([xs, ys], 1)).astype(np.int64)
        pts = pts.clip(-4 * max(h, w), 4 * max(h, w)).astype(np.int32)
        for a, b in zip(pts[:-1], pts[1:]):
            cv2.line(canvas,
                     tuple(map(int, a)),
                     tuple(map(int, b)),
                     1,
                     thickness=max(width, 1))
        radius = width // 2 - 1
        if radius >= 0:
            for c in pts:
                cv2.circle(canvas, tuple(map(int, c)), radius, 1, -1)
    return canvas > 0
