"""Neural renderers: depth samplers, density parameterisations and the shared volume renderer."""

from .density import NeRFDensity
from .depth_samplers import UniformDepthSampler
from .volume_renderer import FieldFn, VolumeRenderer, render_in_chunks

__all__ = ['FieldFn', 'NeRFDensity', 'UniformDepthSampler', 'VolumeRenderer', 'render_in_chunks']
