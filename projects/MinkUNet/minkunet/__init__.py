"""MinkUNet project: MMDet3D's sparse U-Net LiDAR segmentor, CPU-ready voxelisation, fine-tuning hooks."""

from .data_preprocessor import MinkUNetDataPreprocessor
from .segmentor import MinkUNet

__all__ = ['MinkUNet', 'MinkUNetDataPreprocessor']
