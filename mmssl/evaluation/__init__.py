"""Evaluation: metrics (MMDet3D's KittiMetric is used by scope; ``NuScenesMetric`` extends MMDet3D's)."""

from . import functional, metrics  # noqa: F401
from .metrics import BEVSegMetric, NuScenesMetric

__all__ = ['BEVSegMetric', 'NuScenesMetric']
