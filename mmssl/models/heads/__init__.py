"""Heads: rendering networks and prediction heads of self-supervised methods."""

from .bev_predictor import BEVEmbeddingPredictor
from .render_field import ConditionalRenderField, encode_direction

__all__ = ['BEVEmbeddingPredictor', 'ConditionalRenderField', 'encode_direction']
