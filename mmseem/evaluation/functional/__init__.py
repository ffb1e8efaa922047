"""Model-agnostic evaluation functions (pure numpy/scipy/torch)."""
from .click_protocols import (PROTOCOLS, Click, cascaded_distance_transform,
                              clicks_to_masks, exact_distance_transform,
                              mask_iou, run_interactive_session,
                              seem_next_click, standard_next_click,
                              wrap_point_predictor)
from .vos_measures import (boundary_f_measure, boundary_radius, disk,
                           region_similarity, seg2bmap)

__all__ = [
    'PROTOCOLS', 'Click', 'cascaded_distance_transform', 'clicks_to_masks',
    'exact_distance_transform', 'mask_iou', 'run_interactive_session',
    'seem_next_click', 'standard_next_click', 'wrap_point_predictor',
    'boundary_f_measure', 'boundary_radius', 'disk', 'region_similarity',
    'seg2bmap'
]
