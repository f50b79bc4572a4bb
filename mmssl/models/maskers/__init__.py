"""Registered maskers, one vocabulary for the pipeline transforms and the models.

The pipeline transforms of :mod:`mmssl.datasets.transforms.masking` wrap these classes with the
same arguments, so a mask is configured the same way whichever side draws it.
"""

from .bev import BEVGuidedMasker, BEVMaskResult
from .image import ImagePatchMasker, keep_masked
from .voxel import VoxelMasker, VoxelMaskResult

__all__ = [
    'BEVGuidedMasker',
    'BEVMaskResult',
    'ImagePatchMasker',
    'VoxelMasker',
    'VoxelMaskResult',
    'keep_masked',
]
