"""Neural renderers: depth samplers, density parameterisations and the shared volume renderer."""

from .density import LaplaceDensity, NeRFDensity, NeuSDensity
from .depth_samplers import NeuSImportanceSampler, UniformDepthSampler
from .volume_renderer import FieldFn, VolumeRenderer, render_in_chunks

__all__ = [
    'FieldFn',
    'LaplaceDensity',
    'NeRFDensity',
    'NeuSDensity',
    'NeuSImportanceSampler',
    'UniformDepthSampler',
    'VolumeRenderer',
    'render_in_chunks',
]
