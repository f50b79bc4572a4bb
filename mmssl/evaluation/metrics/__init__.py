"""Evaluation metrics."""

from .bev_seg_metric import BEVSegMetric
from .nuscenes_metric import NuScenesMetric, empty_result_summary

__all__ = ['BEVSegMetric', 'NuScenesMetric', 'empty_result_summary']
