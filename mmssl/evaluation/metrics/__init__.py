"""Evaluation metrics."""

from .bev_seg_metric import BEVSegMetric

__all__ = ['BEVSegMetric']
