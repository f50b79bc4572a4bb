"""Contrastive losses over segments: LargeAD's point-to-segment and cross-source terms.

LargeAD (Kong et al., arXiv 2501.04005; ../shared/papers/001_*.txt, Sec. 4.3-4.4) writes its
loss as ``L = L_vfm + L_tmp + L_p2s + L_cdp``, every term "a contrastive objective with
temperature-scaled similarity". The summary gives no formula for ``L_tmp``, ``L_p2s`` or
``L_cdp``; the forms here are this project's reading (docs/largead.md):

* :class:`SegmentInfoNCELoss` (``L_tmp`` and ``L_p2s``): each point embedding against the mean
  embeddings of the segments of a batch, its own segment the positive, the other segments the
  negatives; the segment means come from the other frame (``L_tmp``) or the same frame
  (``L_p2s``). Unlike :class:`~mmssl.models.losses.InfoNCELoss` the positive is not on a
  diagonal: many points share one segment, and a segment never appears twice among the keys
  (no point is pushed away from a copy of its own positive).
* :class:`CrossSourceInfoNCELoss` (``L_cdp``): the superpoint-to-superpixel contrast with only
  the superpixels of *other* sources (datasets) as negatives.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmssl.registry import MODELS


@MODELS.register_module()
class SegmentInfoNCELoss(nn.Module):
    """``CE(normalize(z) @ normalize(m).T / tau, target)`` of points against segment means.

    Args:
        temperature: ``tau``; LargeAD's is not stated in the summary, SLidR's 0.07 by default.
        loss_weight: weight of the term (LargeAD sums its terms with weight 1).
        max_points: at most this many points (a uniform random subset) enter one call, which
            bounds the ``(P, S)`` logits; ``None`` keeps every point.
    """

    def __init__(
        self, temperature: float = 0.07, loss_weight: float = 1.0, max_points: int | None = 8192
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'SegmentInfoNCELoss: temperature must be > 0, got {temperature}')
        self.temperature, self.loss_weight = float(temperature), float(loss_weight)
        self.max_points = None if max_points is None else int(max_points)

    def forward(self, points: Tensor, target: Tensor, means: Tensor) -> Tensor:
        """Args:
            points: ``(P, D)`` point embeddings (L2-normalised here).
            target: ``(P,)`` long row of ``means`` that is each point's own segment.
            means: ``(S, D)`` segment mean embeddings (L2-normalised here), ``S >= 1``.

        Returns:
            The weighted mean cross-entropy; a zero (connected to the inputs) for ``P = 0``
            or ``S < 2`` (no negative).
        """
        if points.dim() != 2 or means.dim() != 2 or target.shape != points.shape[:1]:
            raise ValueError(
                f'SegmentInfoNCELoss: points (P, D), target (P,), means (S, D) expected, got '
                f'{tuple(points.shape)}, {tuple(target.shape)}, {tuple(means.shape)}'
            )
        if len(points) == 0 or len(means) < 2:
            return points.sum() * 0.0 + means.sum() * 0.0
        if target.numel() and (int(target.min()) < 0 or int(target.max()) >= len(means)):
            raise ValueError(f'SegmentInfoNCELoss: target rows must lie in [0, {len(means)})')
        if self.max_points is not None and len(points) > self.max_points:
            pick = torch.randperm(len(points), device=points.device)[: self.max_points]
            points, target = points[pick], target[pick]
        logits = F.normalize(points, dim=1) @ F.normalize(means, dim=1).T / self.temperature
        return self.loss_weight * F.cross_entropy(logits, target.long())


@MODELS.register_module()
class CrossSourceInfoNCELoss(nn.Module):
    """InfoNCE of ``query_i`` against ``key_i`` with the keys of other sources as negatives.

    Row ``i`` scores ``q_i . k_j / tau`` for ``j = i`` and every ``j`` whose source differs from
    ``source_i``; keys of its own source other than ``k_i`` are left out. Rows without any
    other-source key are dropped; a batch of one source gives a zero.

    Args:
        temperature: ``tau`` (SLidR's 0.07 by default; LargeAD's is not stated).
        loss_weight: weight of the term.
        normalize: L2-normalise the rows first (``False``: taken as given, as SLidR's means).
    """

    def __init__(self, temperature: float = 0.07, loss_weight: float = 1.0, normalize: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'CrossSourceInfoNCELoss: temperature must be > 0, got {temperature}')
        self.temperature, self.loss_weight = float(temperature), float(loss_weight)
        self.normalize = bool(normalize)

    def forward(self, query: Tensor, key: Tensor, source: Tensor) -> Tensor:
        """Args:
            query: ``(K, D)`` (superpoint means).
            key: ``(K, D)`` (superpixel means, row ``i`` the positive of query ``i``).
            source: ``(K,)`` long source index of each row.

        Returns:
            The weighted mean over the rows that have an other-source negative.
        """
        if query.shape != key.shape or query.dim() != 2 or source.shape != query.shape[:1]:
            raise ValueError(
                f'CrossSourceInfoNCELoss: query/key (K, D) and source (K,) expected, got '
                f'{tuple(query.shape)}, {tuple(key.shape)}, {tuple(source.shape)}'
            )
        zero = query.sum() * 0.0 + key.sum() * 0.0
        if len(query) < 2:
            return zero
        if self.normalize:
            query, key = F.normalize(query, dim=1), F.normalize(key, dim=1)
        other = source[:, None] != source[None, :]
        rows = other.any(1)
        if not bool(rows.any()):
            return zero
        keep = other | torch.eye(len(query), dtype=torch.bool, device=query.device)
        logits = (query @ key.T / self.temperature).masked_fill(~keep, float('-inf'))
        labels = torch.arange(len(query), device=query.device)
        return self.loss_weight * F.cross_entropy(logits[rows], labels[rows])
