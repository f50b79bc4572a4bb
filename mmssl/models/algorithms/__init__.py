"""Self-supervised pre-training algorithms on the shared camera+LiDAR base."""

from .adljepa import ADLJEPA
from .base import BaseSelfSupervisor
from .bev_mae import BEVMAE, pillar_targets
from .bevdistill import BEVDistill
from .image2lidar import ImageToLidarDistiller, PointPixelPairs, sample_maps
from .largead import LargeAD
from .multimodal import BEVCellMasks, MaskedInputs, MultiModalSelfSupervisor
from .nsmae import NSMAE
from .occfeat import OccFeat
from .occupancy_mae import OccupancyMAE
from .ppkt import PPKT
from .rendering import NeuralRenderingMixin, RenderView
from .scalr import ScaLR
from .slidr import SLidR, SuperpixelMeans
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
    'ImageToLidarDistiller',
    'OccFeat',
    'OccupancyMAE',
    'PPKT',
    'PointPixelPairs',
    'ScaLR',
    'SLidR',
    'SuperpixelMeans',
    'LargeAD',
    'sample_maps',
    'NeuralRenderingMixin',
    'RenderView',
    'UniPAD',
    'pillar_targets',
]
