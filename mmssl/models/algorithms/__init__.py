"""Self-supervised pre-training algorithms on the shared camera+LiDAR base."""

from .adljepa import ADLJEPA
from .base import BaseSelfSupervisor
from .bev_mae import BEVMAE, pillar_targets
from .bevdistill import BEVDistill
from .multimodal import BEVCellMasks, MaskedInputs, MultiModalSelfSupervisor
from .nsmae import NSMAE
from .occfeat import OccFeat
from .occupancy_mae import OccupancyMAE
from .rendering import NeuralRenderingMixin, RenderView
from .unipad import UniPAD

__all__ = [
    'BEVDistill',
    'ADLJEPA',
    'BEVCellMasks',
    'BEVMAE',
    'BaseSelfSupervisor',
    'MaskedInputs',
    'MultiModalSelfSupervisor',
    'NSMAE',
    'OccFeat',
    'OccupancyMAE',
    'NeuralRenderingMixin',
    'RenderView',
    'UniPAD',
    'pillar_targets',
]
