from .interactive_metric import InteractiveMetric
from .panoptic_sem_seg_metric import PanopticSemSegMetric
from .referring_metric import ReferringMetric
from .vos_metric import VOSMetric

__all__ = ['PanopticSemSegMetric', 'InteractiveMetric', 'ReferringMetric', 'VOSMetric']
