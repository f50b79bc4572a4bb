"""Optional regularisers of SDF rendering (UniPAD's eikonal and free-space terms; off by default).

The official UniPAD configs give neither a weight (METHOD_FACTS 2), so mmssl's UniPAD configs
leave them off; they are here for SDF fields that need them (NeuS uses the eikonal term).
"""

from __future__ import annotations

from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class EikonalLoss(nn.Module):
    """``mean (|grad sdf| - 1)^2`` over samples (IGR / NeuS eikonal term), times ``loss_weight``.

    Args:
        loss_weight: the term's weight.
    """

    def __init__(self, loss_weight: float = 0.1) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def unweighted(self, sdf_grad: Tensor) -> Tensor:
        """The mean squared deviation of the gradient norm from 1 over ``(..., 3)`` gradients."""
        return ((sdf_grad.norm(dim=-1) - 1.0) ** 2).mean()

    def forward(self, sdf_grad: Tensor) -> Tensor:
        return self.loss_weight * self.unweighted(sdf_grad)


@MODELS.register_module()
class FreeSpaceLoss(nn.Module):
    """Free space in front of the LiDAR return: ``mean relu(margin - sdf)`` over samples nearer
    than ``range - margin`` on rays with a depth target, times ``loss_weight``.

    Args:
        margin: metres in front of the return that must be at least ``margin`` from a surface.
        loss_weight: the term's weight.
    """

    def __init__(self, margin: float = 0.5, loss_weight: float = 0.1) -> None:
        super().__init__()
        self.margin = float(margin)
        self.loss_weight = float(loss_weight)

    def unweighted(self, sdf: Tensor, sample_range: Tensor, target_range: Tensor, valid: Tensor) -> Tensor:
        """Mean violation.

        Args:
            sdf: (B, R, S) signed distance at the samples (metres).
            sample_range: (B, R, S) distance of each sample from the ray origin (metres).
            target_range: (B, R) distance of the LiDAR return (metres).
            valid: (B, R) rays with a return.

        Returns:
            scalar; a zero that keeps the graph when no sample is in free space.
        """
        free = (sample_range < (target_range - self.margin).unsqueeze(-1)) & valid.unsqueeze(-1)
        free = free.to(sdf.dtype)
        return ((self.margin - sdf).clamp(min=0) * free).sum() / free.sum().clamp(min=1.0)

    def forward(self, sdf: Tensor, sample_range: Tensor, target_range: Tensor, valid: Tensor) -> Tensor:
        return self.loss_weight * self.unweighted(sdf, sample_range, target_range, valid)
