"""Backbones and backbone helpers shared by the detectors and pre-training models."""

from .multimodal import MultiModalEncoderMixin
from .multiview import multiview_image_features
from .vit import DINOv2ImageBackbone

__all__ = ['DINOv2ImageBackbone', 'MultiModalEncoderMixin', 'multiview_image_features']
