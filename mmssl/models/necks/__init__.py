"""Necks: shared camera/BEV encoders (LSS view transform, BEV fuser)."""

from .camera_geometry import camera_matrices_from_metas, lidar2img_batch, lidar2img_from_meta
from .conv_fuser import ConvFuser
from .lss_fpn import GeneralizedLSSFPN
from .lss_view_transform import LSSViewTransform

__all__ = [
    'ConvFuser',
    'GeneralizedLSSFPN',
    'LSSViewTransform',
    'camera_matrices_from_metas',
    'lidar2img_batch',
    'lidar2img_from_meta',
]
