"""Embedded default data set: a deterministic synthetic COCO look-alike.

mmseem-specific, not in SEEM/mmdet/mmseg. One concept a module:

* :mod:`.constants` -- classes, ids, colours, sizes, words, version;
* :mod:`.scene` -- one scene (stuff bands + shapes), :func:`make_scene`;
* :mod:`.referring` -- unique referring expressions and their sentences;
* :mod:`.writer` -- :func:`generate_synthetic_coco` (COCO / panoptic /
  semantic / RefCOCO / visual-referring files, marker, atomic writes);
* :mod:`.checks` -- :func:`check_data_root`, :func:`validate_coco_json`.

Only numpy, OpenCV, json and pickle are used.
"""
from .checks import check_data_root, generator_version, validate_coco_json
from .constants import (DEFAULT_REQUIRED, GENERATE_COMMAND, GENERATOR_VERSION,
                        MARKER_FILE, REFERRING_VOCAB, SYNTHETIC_CLASSES,
                        SYNTHETIC_COLORS, SYNTHETIC_METAINFO,
                        SYNTHETIC_NUM_OBJECTS, SYNTHETIC_PALETTE,
                        SYNTHETIC_SIZES, SYNTHETIC_STUFF_CLASSES,
                        SYNTHETIC_STUFF_IDS, SYNTHETIC_THING_CLASSES,
                        SYNTHETIC_THING_IDS)
from .referring import make_refs, resolve_expression, sentence
from .scene import (CLASS_PATTERNS, SceneObject, SyntheticScene, make_scene,
                    shape_mask)
from .writer import generate_synthetic_coco, is_synthetic_root

__all__ = [
    'DEFAULT_REQUIRED', 'GENERATE_COMMAND', 'GENERATOR_VERSION', 'MARKER_FILE',
    'REFERRING_VOCAB', 'SYNTHETIC_CLASSES', 'SYNTHETIC_COLORS',
    'SYNTHETIC_METAINFO', 'SYNTHETIC_NUM_OBJECTS', 'SYNTHETIC_PALETTE',
    'SYNTHETIC_SIZES', 'SYNTHETIC_STUFF_CLASSES', 'SYNTHETIC_STUFF_IDS',
    'SYNTHETIC_THING_CLASSES', 'SYNTHETIC_THING_IDS', 'CLASS_PATTERNS',
    'SceneObject', 'SyntheticScene', 'check_data_root', 'generator_version',
    'generate_synthetic_coco', 'is_synthetic_root', 'make_refs', 'make_scene',
    'resolve_expression', 'sentence', 'shape_mask', 'validate_coco_json'
]
