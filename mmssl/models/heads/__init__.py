"""Heads: rendering networks and prediction heads of self-supervised methods."""

from .render_field import ConditionalRenderField, encode_direction

__all__ = ['ConditionalRenderField', 'encode_direction']
