"""Self-supervised pre-training algorithms on the shared camera+LiDAR base."""

from .base import BaseSelfSupervisor
from .multimodal import MaskedInputs, MultiModalSelfSupervisor
from .nsmae import NSMAE
from .rendering import NeuralRenderingMixin, RenderView

__all__ = [
    'BaseSelfSupervisor',
    'MaskedInputs',
    'MultiModalSelfSupervisor',
    'NSMAE',
    'NeuralRenderingMixin',
    'RenderView',
]
