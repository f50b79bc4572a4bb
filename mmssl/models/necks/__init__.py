"""Necks: shared camera/BEV encoders (LSS view transform, BEV fuser)."""

from .conv_fuser import ConvFuser
from .lss_fpn import GeneralizedLSSFPN
from .lss_view_transform import LSSViewTransform

__all__ = [
    'ConvFuser',
    'GeneralizedLSSFPN',
    'LSSViewTransform',
]
