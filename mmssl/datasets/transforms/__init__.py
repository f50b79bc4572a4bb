"""Data-pipeline transforms: loading, augmentation, SSL targets, masking, packing."""

from .calibration import apply_img_aug, apply_lidar_aug
from .formatting import SSL_META_KEYS, SSL_TARGET_KEYS, PackSSLInputs
from .image_aug import ImageAug3D
from .lidar_aug import SSLGlobalRotScaleTrans, SSLRandomFlip3D
from .loading import (
    LoadSSLMultiViewImages,
    LoadSSLPointsFromFile,
    LoadSSLPointsFromMultiSweeps,
    SSLPointsRangeFilter,
)
from .map_targets import LoadBEVMapSegmentation
from .masking import BEVGuidedMask, ImagePatchMask, LidarVoxelMask
from .source_norm import AddSourceInfo, PerSourceNormalizePoints
from .superpixel_loading import LoadSuperpixels
from .targets import BEVDepthHeightTarget, DepthMapTarget, OccupancyTarget, PointToPixelTarget
from .temporal import LoadTemporalFrame, TemporalSegments

__all__ = [
    'apply_img_aug',
    'apply_lidar_aug',
    'PackSSLInputs',
    'SSL_META_KEYS',
    'SSL_TARGET_KEYS',
    'ImageAug3D',
    'SSLGlobalRotScaleTrans',
    'SSLRandomFlip3D',
    'LoadBEVMapSegmentation',
    'LoadSSLMultiViewImages',
    'LoadSSLPointsFromFile',
    'LoadSSLPointsFromMultiSweeps',
    'LoadSuperpixels',
    'AddSourceInfo',
    'PerSourceNormalizePoints',
    'SSLPointsRangeFilter',
    'BEVGuidedMask',
    'ImagePatchMask',
    'LidarVoxelMask',
    'BEVDepthHeightTarget',
    'DepthMapTarget',
    'OccupancyTarget',
    'PointToPixelTarget',
    'LoadTemporalFrame',
    'TemporalSegments',
]
