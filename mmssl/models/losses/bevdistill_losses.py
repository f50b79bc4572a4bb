"""The losses of BEVDistill (Chen et al., ICLR 2023), written for BEV maps and CenterHead outputs.

* :func:`gaussian_center_weights`: the ground-truth centre Gaussians that weight the dense term
  (the official code draws them with CenterPoint's ``draw_heatmap_gaussian``; background 0).
* :class:`ForegroundMSELoss`: dense feature distillation (paper Sec. 3.2, eq. 3): squared error
  summed over channels, weighted per cell, normalised by the sum of the weights.
* :class:`InfoNCELoss`: sparse instance distillation (Sec. 3.3, eq. 5): student embeddings
  against the teacher's, in-batch negatives, temperature ``tau``.
* :class:`ScoreWeightedL1Loss`: response distillation's box term: L1 to the teacher's boxes
  weighted by the teacher's score (the official code applies it twice: ``score_power=2``).
* :class:`SoftFocalLoss`: response distillation's heatmap term with soft (score-valued) targets,
  the quality focal loss of Li et al. (GFL, NeurIPS 2020), which accepts targets in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.registry import MODELS


def gaussian_center_weights(
    centers: Tensor, radii: Tensor, shape: tuple[int, int], peaks: Tensor | None = None
) -> Tensor:
    """Max over boxes of a Gaussian per box centre, as ``draw_heatmap_gaussian`` draws them.

    Box ``k`` adds ``peak_k * exp(-(dx^2 + dy^2) / (2 sigma_k^2))`` with
    ``sigma_k = (2 r_k + 1) / 6`` on the cells ``|dx| <= r_k`` and ``|dy| <= r_k`` around its
    integer centre cell (CenterNet's square window); the map keeps the maximum over boxes.

    Args:
        centers: ``(K, 2)`` integer ``(x, y)`` cells (column, row).
        radii: ``(K,)`` integer radii in cells.
        shape: ``(Y, X)`` of the map.
        peaks: ``(K,)`` peak values (default 1).

    Returns:
        ``(Y, X)`` weights in [0, max peak].
    """
    ny, nx = shape
    out = centers.new_zeros((ny, nx), dtype=torch.float32)
    if centers.numel() == 0:
        return out
    centers = centers.long()
    radii = radii.long().clamp(min=0)
    peaks = torch.ones(len(centers), device=out.device) if peaks is None else peaks.float()
    ys = torch.arange(ny, device=out.device).view(1, ny, 1)
    xs = torch.arange(nx, device=out.device).view(1, 1, nx)
    dx = xs - centers[:, 0].view(-1, 1, 1)
    dy = ys - centers[:, 1].view(-1, 1, 1)
    r = radii.view(-1, 1, 1)
    sigma = (2 * r + 1).float() / 6
    g = torch.exp(-(dx.float() ** 2 + dy.float() ** 2) / (2 * sigma**2))
    g = g * ((dx.abs() <= r) & (dy.abs() <= r)).float() * peaks.view(-1, 1, 1)
    return g.amax(dim=0)


@MODELS.register_module()
class ForegroundMSELoss(nn.Module):
    """``loss_weight * sum_cells w * sum_c (s - t)^2 / sum_cells w`` (BEVDistill eq. 3).

    Args:
        loss_weight: The dense term's weight (official: 0.01).
        eps: Guards the normalisation when no cell has weight.
    """

    def __init__(self, loss_weight: float = 0.01, eps: float = 1e-6) -> None:
        super().__init__()
        self.loss_weight, self.eps = float(loss_weight), float(eps)

    def forward(self, student: Tensor, teacher: Tensor, weights: Tensor) -> Tensor:
        """Args: ``student``/``teacher`` ``(B, C, Y, X)``; ``weights`` ``(B, Y, X)``."""
        if student.shape != teacher.shape or weights.shape != (student.shape[0], *student.shape[2:]):
            raise ValueError(
                f'ForegroundMSELoss: student {tuple(student.shape)}, teacher {tuple(teacher.shape)} and '
                f'weights {tuple(weights.shape)} must be (B, C, Y, X), (B, C, Y, X), (B, Y, X)'
            )
        err = (student - teacher.to(student.dtype)).pow(2).sum(dim=1)
        total = weights.sum()
        return self.loss_weight * (err * weights).sum() / total.clamp(min=self.eps)


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """InfoNCE of ``query_i`` against ``key_i`` with the other keys as negatives.

    ``logits = normalize(q) @ normalize(k).T / temperature``; cross-entropy with the diagonal as
    the target (BEVDistill eq. 5; teacher -> student: the keys are the teacher's embeddings; PPKT
    and SLidR: points -> pixels).

    Args:
        temperature: ``tau`` (official 0.07).
        loss_weight: The instance term's weight (BEVDistill's official 0.2).
        normalize: L2-normalise query and key rows first; ``False`` takes them as given (SLidR's
            superpixel means of normalised features, not re-normalised).
    """

    def __init__(self, temperature: float = 0.07, loss_weight: float = 0.2, normalize: bool = True) -> None:
        super().__init__()
        self.temperature, self.loss_weight = float(temperature), float(loss_weight)
        self.normalize = bool(normalize)

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        """Args: ``query`` (student) and ``key`` (teacher) ``(N, D)``; a zero for ``N = 0``."""
        if query.shape != key.shape or query.dim() != 2:
            raise ValueError(
                f'InfoNCELoss: query {tuple(query.shape)} and key {tuple(key.shape)} must be (N, D)'
            )
        if len(query) == 0:
            return query.sum() * 0.0
        if self.normalize:
            query, key = F.normalize(query, dim=1), F.normalize(key, dim=1)
        logits = query @ key.T / self.temperature
        labels = torch.arange(len(query), device=query.device)
        return self.loss_weight * F.cross_entropy(logits, labels)


@MODELS.register_module()
class ScoreWeightedL1Loss(nn.Module):
    """``loss_weight * sum_n s_n^p sum_d c_d |pred - target| / sum_n s_n``.

    Args:
        loss_weight: Official 0.25.
        score_power: ``p``: 1 weights each box by the teacher's score once (the paper's
            description); the official code applies the score twice (``p = 2``).
        eps: Guards the normalisation.
    """

    def __init__(self, loss_weight: float = 0.25, score_power: float = 1.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.loss_weight, self.score_power, self.eps = float(loss_weight), float(score_power), float(eps)

    def forward(
        self, pred: Tensor, target: Tensor, scores: Tensor, code_weights: Tensor | None = None
    ) -> Tensor:
        """Args: ``pred``/``target`` ``(N, D)``, ``scores`` ``(N,)``, ``code_weights`` ``(D,)``."""
        if pred.shape != target.shape or scores.shape != pred.shape[:1]:
            raise ValueError(
                f'ScoreWeightedL1Loss: pred {tuple(pred.shape)}, target {tuple(target.shape)}, '
                f'scores {tuple(scores.shape)} must be (N, D), (N, D), (N,)'
            )
        err = (pred - target).abs()
        if code_weights is not None:
            err = err * code_weights.to(err)
        scores = scores.to(err)
        total = (err.sum(dim=1) * scores.pow(self.score_power)).sum()
        return self.loss_weight * total / scores.sum().clamp(min=self.eps)


@MODELS.register_module()
class SoftFocalLoss(nn.Module):
    """Quality focal loss ``-|t - p|^beta [t log p + (1 - t) log(1 - p)]``, summed, over ``norm``.

    Args:
        loss_weight: Response heatmap weight (official 0.0: the classification distillation is
            off in the released config).
        beta: Focusing exponent (GFL: 2).
    """

    def __init__(self, loss_weight: float = 0.0, beta: float = 2.0) -> None:
        super().__init__()
        self.loss_weight, self.beta = float(loss_weight), float(beta)

    def forward(self, prob: Tensor, target: Tensor, norm: Tensor | float) -> Tensor:
        """Args: ``prob`` in (0, 1) and ``target`` in [0, 1], same shape; ``norm`` > 0."""
        if prob.shape != target.shape:
            raise ValueError(
                f'SoftFocalLoss: prob {tuple(prob.shape)} and target {tuple(target.shape)} differ'
            )
        target = target.to(prob)
        bce = F.binary_cross_entropy(prob, target, reduction='none')
        loss = ((target - prob).abs().pow(self.beta) * bce).sum()
        norm = torch.as_tensor(norm, dtype=prob.dtype, device=prob.device).clamp(min=1.0)
        return self.loss_weight * loss / norm
