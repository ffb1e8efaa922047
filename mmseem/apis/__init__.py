"""User-facing APIs of mmseem: image loading, model loading, the
interactive :class:`SEEMPredictor` (features once, prompts many times),
the :class:`SEEMInferencer` (every task on image files, with visualisation)
and :class:`SEEMAutomaticMaskGenerator` (SAM-style labelled "segment
everything").
``mmseg.apis.init_model`` / ``inference_model`` also work on SEEM configs;
:func:`init_model` is the same for SEEM, also for plain state dicts."""
from .automatic_mask_generator import SEEMAutomaticMaskGenerator
from .image_io import load_image
from .inferencer import SEEMInferencer
from .model_init import init_model, load_config
from .pipeline import build_inference_pipeline
from .predictor import SEEMPredictor
from .video import VideoPropagator, propagate_video

__all__ = [
    'load_image', 'init_model', 'load_config', 'build_inference_pipeline',
    'SEEMPredictor', 'SEEMInferencer', 'VideoPropagator', 'propagate_video',
    'SEEMAutomaticMaskGenerator'
]
