"""Self-supervised pre-training algorithms (one base class, thin method classes)."""

from .base import BaseSelfSupervisor
from .masking import MaskTokenImageMasker, VoxelPointMasker
from .nsmae import NSMAE

__all__ = ['BaseSelfSupervisor', 'MaskTokenImageMasker', 'VoxelPointMasker', 'NSMAE']
