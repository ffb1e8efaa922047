"""Visualizers of mmseem (registered in ``mmseem.registry.VISUALIZERS``)."""
from .seem_visualizer import SEEMVisualizer, default_palette

__all__ = ['SEEMVisualizer', 'default_palette']
