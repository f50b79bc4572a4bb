"""Self-supervised pre-training algorithms on the shared camera+LiDAR base."""

from .adljepa import ADLJEPA
from .base import BaseSelfSupervisor
from .multimodal import BEVCellMasks, MaskedInputs, MultiModalSelfSupervisor
from .nsmae import NSMAE
from .rendering import NeuralRenderingMixin, RenderView

__all__ = [
    'ADLJEPA',
    'BEVCellMasks',
    'BaseSelfSupervisor',
    'MaskedInputs',
    'MultiModalSelfSupervisor',
    'NSMAE',
    'NeuralRenderingMixin',
    'RenderView',
]
