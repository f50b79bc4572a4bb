"""Data preprocessors."""

from .torch_voxel_data_preprocessor import TorchVoxelDataPreprocessor

__all__ = ['TorchVoxelDataPreprocessor']
