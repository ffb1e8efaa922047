"""User-facing APIs of mmseem: image loading, the interactive
:class:`SEEMPredictor` (features once, prompts many times) and the
:class:`SEEMInferencer` (every task on image files, with visualisation),
:class:`SEEMAutomaticMaskGenerator` (SAM-style labelled "segment
everything").
``mmseg.apis.init_model`` / ``inference_model`` also work on SEEM configs."""
from .automatic_mask_generator import SEEMAutomaticMaskGenerator
from .image_io import load_image
from .inferencer import SEEMInferencer
from .pipeline import build_inference_pipeline
from .predictor import SEEMPredictor
from .video import VideoPropagator, propagate_video

__all__ = [
    'load_image', 'build_inference_pipeline', 'SEEMPredictor',
    'SEEMInferencer', 'VideoPropagator', 'propagate_video',
    'SEEMAutomaticMaskGenerator'
]
