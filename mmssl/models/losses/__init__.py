"""Losses of the self-supervised methods."""

from .render_losses import MaskedLpLoss

__all__ = ['MaskedLpLoss']
