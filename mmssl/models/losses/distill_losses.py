"""Feature-distillation losses of the frozen-teacher methods.

:class:`NegativeCosineLoss` is OccFeat's ``L_feat`` (Sirko-Galouchenko et al., 2024, eq. 3):
the mean negative cosine similarity between predicted and teacher features over the rows that
have a target (occupied voxels with at least one valid camera projection);
:class:`NormalizedL2Loss` is ScaLR's point-feature distillation loss.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class NegativeCosineLoss(nn.Module):
    """``-mean_i cos(pred_i, target_i)`` over the valid rows, times ``loss_weight``.

    Args:
        loss_weight: the term's weight (OccFeat's lambda, eq. 1: 0.01).
        eps: of ``F.cosine_similarity``.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-8) -> None:
        super().__init__()
        self.loss_weight, self.eps = float(loss_weight), float(eps)

    def similarity(self, pred: Tensor, target: Tensor) -> Tensor:
        """``(N,)`` cosine similarity of ``(N, C)`` rows."""
        if pred.shape != target.shape or pred.dim() != 2:
            raise ValueError(
                f'NegativeCosineLoss: pred {tuple(pred.shape)} and target {tuple(target.shape)} must be '
                'the same (N, C)'
            )
        return F.cosine_similarity(pred, target.to(pred.dtype), dim=1, eps=self.eps)

    def forward(self, pred: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        """Scalar loss; a graph-keeping zero when no row is valid.

        Args:
            pred, target: ``(N, C)``.
            valid: ``(N,)`` bool rows that count (default all).
        """
        cos = self.similarity(pred, target)
        if valid is not None:
            cos = cos[valid.bool()]
        if cos.numel() == 0:
            return pred.sum() * 0.0
        return -self.loss_weight * cos.mean()


@MODELS.register_module()
class NormalizedL2Loss(nn.Module):
    """ScaLR's distillation loss: ``mean_i ||n(pred_i) - n(target_i)||_2``, ``n`` the L2
    normalisation (the norm, not its square; ScaLR's ``distiller.py``), times ``loss_weight``.

    Args:
        loss_weight: the term's weight.
        eps: of ``F.normalize``.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-12) -> None:
        super().__init__()
        self.loss_weight, self.eps = float(loss_weight), float(eps)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Scalar loss of ``(N, C)`` rows; a graph-keeping zero for ``N = 0``."""
        if pred.shape != target.shape or pred.dim() != 2:
            raise ValueError(
                f'NormalizedL2Loss: pred {tuple(pred.shape)} and target {tuple(target.shape)} must be '
                'the same (N, C)'
            )
        if len(pred) == 0:
            return pred.sum() * 0.0
        diff = F.normalize(pred, dim=1, eps=self.eps) - F.normalize(target.to(pred), dim=1, eps=self.eps)
        return self.loss_weight * diff.norm(dim=1).mean()
