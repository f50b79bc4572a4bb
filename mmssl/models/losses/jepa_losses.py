"""Losses of AD-L-JEPA (Zhu et al., 2025, Sec. III-E, eqs. 1-3).

``L = lambda_jepa L_jepa + lambda_reg L_reg`` (eq. 4) with

* :class:`MaskedCosineLoss` (eq. 1): ``alpha_0`` times the mean cosine distance over the masked
  empty cells plus ``alpha_1`` times the mean over the masked non-empty cells, each mean taken
  over the cells of the whole batch (eq. 1 divides by ``sum_n |P_n|`` and ``sum_n |Q_n|``);
* :class:`PerSampleVarianceLoss` (eqs. 2-3, the variance hinge of VICReg):
  ``v(Y) = (1/C) sum_j max(0, gamma - sqrt(Var(Y_j) + eps))`` with the variance taken over the
  cells of **one** input sample (Sec. III-E: over the batch, N constant but distinct
  embeddings would pass the threshold).

Each term's weight (lambda) is its ``loss_weight``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.registry import MODELS


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` where ``mask`` (same shape) is True; a graph-keeping zero without any."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


@MODELS.register_module()
class MaskedCosineLoss(nn.Module):
    """Cosine prediction loss over the masked cells, weighted by cell type (AD-L-JEPA eq. 1).

    Reading of eq. 1: the text names its index sets ``P_n`` and ``Q_n`` "unmasked empty" and
    "unmasked non-empty" cells, but states just before that the loss is minimised "only for the
    masked grids" (and the official code does so): ``P_n`` = masked empty cells (weight
    ``alpha_0 = 0.25``), ``Q_n`` = masked non-empty cells (``alpha_1 = 0.75``).

    Args:
        alpha_empty: ``alpha_0`` (paper: 0.25).
        alpha_nonempty: ``alpha_1`` (paper: 0.75).
        loss_weight: ``lambda_jepa`` (paper: 1).
    """

    def __init__(
        self, alpha_empty: float = 0.25, alpha_nonempty: float = 0.75, loss_weight: float = 1.0
    ) -> None:
        super().__init__()
        self.alpha_empty = float(alpha_empty)
        self.alpha_nonempty = float(alpha_nonempty)
        self.loss_weight = float(loss_weight)

    @staticmethod
    def cosine_distance(pred: Tensor, target: Tensor) -> Tensor:
        """``1 - cos(pred, target)`` per cell: ``(B, D, Y, X)`` x2 -> ``(B, Y, X)``."""
        if pred.shape != target.shape:
            raise ValueError(
                f'MaskedCosineLoss: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ'
            )
        return 1.0 - F.cosine_similarity(pred, target, dim=1, eps=1e-8)

    def terms(self, pred: Tensor, target: Tensor, mask_empty: Tensor, mask_nonempty: Tensor) -> tuple:
        """Mean cosine distance over the masked empty and over the masked non-empty cells.

        Args:
            pred, target: ``(B, D, Y, X)`` embeddings.
            mask_empty, mask_nonempty: ``(B, Y, X)`` bool masks.

        Returns:
            ``(mean_empty, mean_nonempty)`` scalars (zero where a set is empty).
        """
        dist = self.cosine_distance(pred, target)
        return masked_mean(dist, mask_empty), masked_mean(dist, mask_nonempty)

    def forward(self, pred: Tensor, target: Tensor, mask_empty: Tensor, mask_nonempty: Tensor) -> Tensor:
        """``lambda_jepa (alpha_0 mean_empty + alpha_1 mean_nonempty)`` (see :meth:`terms`)."""
        empty, nonempty = self.terms(pred, target, mask_empty, mask_nonempty)
        return self.loss_weight * (self.alpha_empty * empty + self.alpha_nonempty * nonempty)


@MODELS.register_module()
class PerSampleVarianceLoss(nn.Module):
    """Variance regulariser ``v`` of AD-L-JEPA eqs. 2-3, computed per input sample.

    For sample ``n`` with selected cells ``Y_n`` ``(M_n, D)``:
    ``v(Y_n) = (1/D) sum_j relu(gamma - sqrt(Var(Y_n[:, j]) + eps))`` (unbiased variance over the
    cells, as ``torch.var``). Samples with fewer than two selected cells have no variance and are
    left out. Eq. 2 sums over the samples while the text speaks of "averaging the loss across
    each input": ``sample_reduction='mean'`` (default) averages, ``'sum'`` is eq. 2 literally (a
    factor ``N`` on ``lambda_reg``).

    Args:
        gamma: the hinge threshold; None: ``1 / sqrt(D)`` (Sec. IV-B: the per-dimension std of an
            isotropic unit-norm embedding; the official code's 1/16 at D = 256).
        eps: inside the square root (official code: 1e-4).
        sample_reduction: ``'mean'`` or ``'sum'`` over the samples.
        loss_weight: ``lambda_reg`` (paper: 1 on KITTI, 10 on Waymo).
    """

    REDUCTIONS = ('mean', 'sum')

    def __init__(
        self,
        gamma: float | None = None,
        eps: float = 1e-4,
        sample_reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if sample_reduction not in self.REDUCTIONS:
            raise ValueError(f'PerSampleVarianceLoss: sample_reduction must be one of {self.REDUCTIONS}')
        self.gamma = None if gamma is None else float(gamma)
        self.eps = float(eps)
        self.sample_reduction = sample_reduction
        self.loss_weight = float(loss_weight)

    def per_sample(self, emb: Tensor, mask: Tensor) -> tuple:
        """``v`` of every sample.

        Args:
            emb: ``(B, D, Y, X)`` embeddings.
            mask: ``(B, Y, X)`` bool, the cells of each sample entering its variance.

        Returns:
            ``values`` ``(B,)`` (zero where undefined) and ``valid`` ``(B,)`` bool (>= 2 cells).
        """
        gamma = self.gamma if self.gamma is not None else 1.0 / math.sqrt(emb.shape[1])
        values, valid = [], []
        for e, m in zip(emb, mask):
            cells = e.flatten(1)[:, m.flatten()].T  # (M, D)
            if cells.shape[0] < 2:
                values.append(emb.new_zeros(()) * e.sum())
                valid.append(False)
                continue
            std = torch.sqrt(cells.var(dim=0) + self.eps)
            values.append(F.relu(gamma - std).mean())
            valid.append(True)
        return torch.stack(values), torch.tensor(valid, device=emb.device)

    def unweighted(self, emb: Tensor, mask: Tensor) -> Tensor:
        """The samples' ``v`` reduced by ``sample_reduction`` (a zero without any valid sample)."""
        values, valid = self.per_sample(emb, mask)
        total = (values * valid.to(values.dtype)).sum()
        if self.sample_reduction == 'mean':
            total = total / valid.sum().clamp(min=1)
        return total

    def forward(self, emb: Tensor, mask: Tensor) -> Tensor:
        """``loss_weight`` times :meth:`unweighted`."""
        return self.loss_weight * self.unweighted(emb, mask)
