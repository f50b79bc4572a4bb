"""Backbones and backbone helpers shared by the detectors and pre-training models."""

from .multimodal import MultiModalEncoderMixin
from .multiview import multiview_image_features

__all__ = ['MultiModalEncoderMixin', 'multiview_image_features']
