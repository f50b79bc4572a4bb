"""Operations on superpixel id maps: contiguous relabelling and nearest-neighbour resizing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def relabel_contiguous(segments: np.ndarray) -> np.ndarray:
    """Relabel a segmentation so that its ids are exactly ``0 .. K-1`` (order of the old ids kept).

    Args:
        segments: ``(H, W)`` non-negative integer ids (gaps allowed, e.g. ids SLIC's connectivity
            step emptied).

    Returns:
        ``(H, W)`` int32 ids in ``[0, K)``, every id in that range present, ``K`` = number of
        distinct input ids.

    Raises:
        ValueError: not a 2-D integer map, or a negative id (a pixel without a segment).
    """
    segments = np.asarray(segments)
    if segments.ndim != 2 or not np.issubdtype(segments.dtype, np.integer):
        raise ValueError(
            f'a superpixel map must be a 2-D integer array, got {segments.dtype} {segments.shape}'
        )
    if segments.size == 0:
        raise ValueError('a superpixel map must not be empty')
    if int(segments.min()) < 0:
        raise ValueError(
            f'superpixel ids must be >= 0 (every pixel in one segment), got min {segments.min()}'
        )
    flat = segments.ravel().astype(np.int64)
    present = np.bincount(flat) > 0
    lut = (np.cumsum(present) - 1).astype(np.int32)
    return lut[flat].reshape(segments.shape)


def resize_nearest(ids: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize of an id map with the pixel-centre convention.

    Output pixel ``(i, j)`` takes the input pixel that contains its centre mapped back by the
    continuous scale ``diag(W / W_out, H / H_out)`` (pixel ``(i, j)`` covers
    ``[j, j + 1) x [i, i + 1)``), i.e. the same map a point projection scaled by
    ``S = diag(W_out / W, H_out / H)`` uses. Ids are copied, never blended or renumbered.

    Args:
        ids: ``(H, W)`` integer ids.
        size: ``(H_out, W_out)``.

    Returns:
        ``(H_out, W_out)`` ids of ``ids``' dtype.
    """
    h, w = ids.shape
    h_out, w_out = int(size[0]), int(size[1])
    if (h_out, w_out) == (h, w):
        return ids
    rows = np.minimum(((np.arange(h_out) + 0.5) * (h / h_out)).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(w_out) + 0.5) * (w / w_out)).astype(np.int64), w - 1)
    return ids[rows[:, None], cols[None, :]]
