"""Losses of the self-supervised methods."""

from .distill_losses import NegativeCosineLoss
from .jepa_losses import MaskedCosineLoss, PerSampleVarianceLoss, masked_mean
from .mae_losses import ChamferLoss, OccupancyBCELoss
from .render_losses import MaskedLpLoss

__all__ = [
    'ChamferLoss',
    'MaskedCosineLoss',
    'MaskedLpLoss',
    'NegativeCosineLoss',
    'OccupancyBCELoss',
    'PerSampleVarianceLoss',
    'masked_mean',
]
