"""Evaluation functions (CPU counterparts of MMDet3D's CUDA-only ones, embedding spectra)."""

from .rotated_iou import kitti_rotate_iou_cpu
from .spectrum import covariance_spectrum, embedding_spectrum

__all__ = ['covariance_spectrum', 'embedding_spectrum', 'kitti_rotate_iou_cpu']
