from .backbone_wrapper import BackboneWrapper, ShapeSpec
from .focalnet import FocalNet

__all__ = ['BackboneWrapper', 'FocalNet', 'ShapeSpec']
