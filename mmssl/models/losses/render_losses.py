"""Rendering reconstruction losses of NS-MAE (paper eqs. 5-7).

``L = lambda_rgb ||C - C_gt||_2^2 + lambda_per |D_per - D_per_gt|_1 + lambda_bev |D_bev - D_bev_gt|_1``

Each term is one :class:`MaskedLpLoss` with its weight as an explicit config value. The
paper/official weights (1e4 colour, 1e-2 depth) assume colour in [0, 1] (ImageNet
normalisation undone), perspective depth in metres of camera z and BEV depth in the units
of its target (the official code: 0.2 m voxel indices; mmssl: metres below the volume top,
see ``NSMAE``), with each term a mean over its valid elements.
"""

from __future__ import annotations

from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class MaskedLpLoss(nn.Module):
    """Mean ``|pred - target|^p`` over valid elements, times ``loss_weight``.

    Args:
        p: 1 (L1, depth) or 2 (squared L2, colour).
        loss_weight: the term's weight lambda.
    """

    def __init__(self, p: int = 2, loss_weight: float = 1.0) -> None:
        super().__init__()
        if p not in (1, 2):
            raise ValueError(f'MaskedLpLoss: p must be 1 or 2, got {p}')
        self.p = p
        self.loss_weight = float(loss_weight)

    def unweighted(self, pred: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        """Mean error without the weight.

        Args:
            pred: (N, ...) predictions.
            target: same shape as ``pred``.
            valid: optional (N,) or pred-shaped bool; elements where False are ignored.
                With no valid element the result is a zero that keeps the graph.

        Returns:
            scalar tensor. For vector elements (e.g. RGB (N, 3)) the error is averaged over
            channels too.
        """
        if pred.shape != target.shape:
            raise ValueError(
                f'MaskedLpLoss: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ'
            )
        err = (pred - target).abs()
        if self.p == 2:
            err = err * err
        if valid is None:
            return err.mean()
        while valid.dim() < err.dim():
            valid = valid.unsqueeze(-1)
        valid = valid.expand_as(err).to(err.dtype)
        return (err * valid).sum() / valid.sum().clamp(min=1.0)

    def forward(self, pred: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        """Weighted loss (see :meth:`unweighted`)."""
        return self.loss_weight * self.unweighted(pred, target, valid)
