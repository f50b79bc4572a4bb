"""Mean of row features per segment id (superpixel / superpoint pooling)."""

from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor


def segment_mean(feats: Tensor, ids: Tensor, num_segments: int) -> Tuple[Tensor, Tensor]:
    """Per-segment mean of ``feats`` rows (differentiable; empty segments are 0).

    Args:
        feats: ``(P, C)``.
        ids: ``(P,)`` long segment ids in ``[0, num_segments)``.
        num_segments: ``S``.

    Returns:
        ``(S, C)`` means and ``(S,)`` float row counts.

    Raises:
        ValueError: shapes disagree or an id is out of range.
    """
    if feats.dim() != 2 or ids.shape != feats.shape[:1]:
        raise ValueError(
            f'segment_mean: feats must be (P, C) and ids (P,), got {tuple(feats.shape)}, {tuple(ids.shape)}'
        )
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_segments):
        raise ValueError(
            f'segment_mean: ids must lie in [0, {num_segments}), got [{int(ids.min())}, {int(ids.max())}]'
        )
    ids = ids.long().to(feats.device)
    total = feats.new_zeros((num_segments, feats.shape[1])).index_add(0, ids, feats)
    count = torch.zeros(num_segments, dtype=feats.dtype, device=feats.device).index_add(
        0, ids, torch.ones_like(ids, dtype=feats.dtype)
    )
    return total / count.clamp(min=1)[:, None], count
