"""Heads: rendering networks and prediction heads of self-supervised methods."""

from .bev_predictor import BEVEmbeddingPredictor
from .distill_heads import PixelProjectionHead, PointProjectionHead
from .mae_decoders import BEVPointDecoder, OccupancyDecoder3D
from .render_field import ConditionalRenderField, encode_direction
from .sdf_field import SDFNetwork, SDFRenderField
from .separate_head import CenterSeparateHead
from .unsplatting import UnsplatOutput, UnsplattingHead

__all__ = [
    'BEVEmbeddingPredictor',
    'BEVPointDecoder',
    'CenterSeparateHead',
    'ConditionalRenderField',
    'OccupancyDecoder3D',
    'PixelProjectionHead',
    'PointProjectionHead',
    'SDFNetwork',
    'SDFRenderField',
    'UnsplatOutput',
    'UnsplattingHead',
    'encode_direction',
]
