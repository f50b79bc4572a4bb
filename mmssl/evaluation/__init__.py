"""Evaluation: metrics (MMDet3D's NuScenesMetric / KittiMetric are used by scope)."""

from . import functional, metrics  # noqa: F401
from .metrics import BEVSegMetric

__all__ = ['BEVSegMetric']
