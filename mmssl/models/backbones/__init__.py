"""Backbones and backbone helpers shared by the detectors and pre-training models."""

from .multiview import multiview_image_features

__all__ = ['multiview_image_features']
