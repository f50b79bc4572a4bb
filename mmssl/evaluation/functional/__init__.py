"""Evaluation functions (CPU counterparts of MMDet3D's CUDA-only ones)."""

from .rotated_iou import kitti_rotate_iou_cpu

__all__ = ['kitti_rotate_iou_cpu']
