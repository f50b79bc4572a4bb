"""Reconstruction losses of the LiDAR masked autoencoders: Occupancy-MAE's dense occupancy BCE and
BEV-MAE's Chamfer distance (its density term is MMDet's ``SmoothL1Loss``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class OccupancyBCELoss(nn.Module):
    """Binary cross-entropy of occupancy logits over every voxel of the dense grid, averaged
    (Occupancy-MAE; the official code: ``BCEWithLogitsLoss()`` over all voxels, visible and
    masked, empty-dominated, METHOD_FACTS 5).

    Args:
        pos_weight: weight of the occupied voxels (None: 1, the official loss); e.g. the
            empty/occupied ratio balances the classes.
        loss_weight: the term's weight.
    """

    def __init__(self, pos_weight: float | None = None, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.pos_weight = None if pos_weight is None else float(pos_weight)
        self.loss_weight = float(loss_weight)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """``logits`` and bool/float ``target`` of one shape (``(B, Z, Y, X)``) -> scalar."""
        if logits.shape != target.shape:
            raise ValueError(
                f'OccupancyBCELoss: logits {tuple(logits.shape)} and target {tuple(target.shape)} differ'
            )
        pos = None if self.pos_weight is None else logits.new_tensor(self.pos_weight)
        return self.loss_weight * F.binary_cross_entropy_with_logits(
            logits, target.to(logits.dtype), pos_weight=pos
        )


@MODELS.register_module()
class ChamferLoss(nn.Module):
    """Squared-L2 Chamfer distance between predicted and target point sets, one pair per cell
    (BEV-MAE: the mean over the predictions of the distance to the nearest target point plus the
    mean over the valid target points of the distance to the nearest prediction, weights 1 / 1,
    METHOD_FACTS 6), averaged over the cells that have a target point.

    Args:
        weight_pred, weight_target: weights of the prediction -> target and target -> prediction
            terms.
        loss_weight: the term's weight.
    """

    def __init__(
        self, weight_pred: float = 1.0, weight_target: float = 1.0, loss_weight: float = 1.0
    ) -> None:
        super().__init__()
        self.weight_pred = float(weight_pred)
        self.weight_target = float(weight_target)
        self.loss_weight = float(loss_weight)

    def per_cell(self, pred: Tensor, target: Tensor, valid: Tensor) -> Tensor:
        """Chamfer distance of every cell.

        Args:
            pred: ``(M, K, 3)`` predicted points.
            target: ``(M, N, 3)`` target points, padded.
            valid: ``(M, N)`` bool, the real target points.

        Returns:
            ``(M,)`` (zero for a cell without a valid target point).
        """
        dist = torch.cdist(pred, target).square()  # (M, K, N)
        inf = torch.finfo(dist.dtype).max
        to_target = dist.masked_fill(~valid[:, None, :], inf).min(dim=2).values  # (M, K)
        has = valid.any(dim=1)
        to_target = torch.where(has[:, None], to_target, torch.zeros_like(to_target)).mean(dim=1)
        to_pred = dist.min(dim=1).values  # (M, N)
        n = valid.sum(dim=1).clamp(min=1).to(dist.dtype)
        to_pred = (to_pred * valid.to(dist.dtype)).sum(dim=1) / n
        return self.weight_pred * to_target + self.weight_target * to_pred

    def forward(self, pred: Tensor, target: Tensor, valid: Tensor) -> Tensor:
        """Mean of :meth:`per_cell` over the cells with a target point, times ``loss_weight``."""
        has = valid.any(dim=1)
        per_cell = self.per_cell(pred, target, valid)
        return self.loss_weight * (per_cell * has.to(per_cell.dtype)).sum() / has.sum().clamp(min=1)
