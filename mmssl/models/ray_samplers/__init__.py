"""Registered ray samplers: which rays a rendering method renders, with their targets."""

from .bev import BEVRaySampler
from .bundle import RayBundle, RenderContext
from .depth_aware import DepthAwareRaySampler
from .perspective import PerspectiveRaySampler
from .random_view import RandomViewRaySampler

__all__ = [
    'BEVRaySampler',
    'DepthAwareRaySampler',
    'PerspectiveRaySampler',
    'RandomViewRaySampler',
    'RayBundle',
    'RenderContext',
]
