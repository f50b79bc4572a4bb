"""Neural renderers: density parameterisations and the shared ray-sampling volume renderer."""

from .density import NeRFDensity
from .volume_renderer import VolumeRenderer, render_in_chunks

__all__ = ['NeRFDensity', 'VolumeRenderer', 'render_in_chunks']
