"""Losses of the self-supervised methods."""

from .jepa_losses import MaskedCosineLoss, PerSampleVarianceLoss, masked_mean
from .render_losses import MaskedLpLoss

__all__ = ['MaskedCosineLoss', 'MaskedLpLoss', 'PerSampleVarianceLoss', 'masked_mean']
