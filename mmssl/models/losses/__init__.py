"""Losses of the self-supervised methods."""

from .bevdistill_losses import (
    ForegroundMSELoss,
    InfoNCELoss,
    ScoreWeightedL1Loss,
    SoftFocalLoss,
    gaussian_center_weights,
)
from .distill_losses import NegativeCosineLoss, NormalizedL2Loss
from .jepa_losses import MaskedCosineLoss, PerSampleVarianceLoss, masked_mean
from .mae_losses import ChamferLoss, OccupancyBCELoss
from .render_losses import MaskedLpLoss
from .sdf_losses import EikonalLoss, FreeSpaceLoss
from .segment_losses import CrossSourceInfoNCELoss, SegmentInfoNCELoss

__all__ = [
    'gaussian_center_weights',
    'SoftFocalLoss',
    'ScoreWeightedL1Loss',
    'InfoNCELoss',
    'CrossSourceInfoNCELoss',
    'SegmentInfoNCELoss',
    'ForegroundMSELoss',
    'ChamferLoss',
    'EikonalLoss',
    'FreeSpaceLoss',
    'MaskedCosineLoss',
    'MaskedLpLoss',
    'NegativeCosineLoss',
    'NormalizedL2Loss',
    'OccupancyBCELoss',
    'PerSampleVarianceLoss',
    'masked_mean',
]
