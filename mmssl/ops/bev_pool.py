"""Pure-PyTorch BEV pooling: sum (or average) features of 3D points into voxel/BEV cells.

This replaces the CUDA-only ``bev_pool`` kernel of BEVFusion (Liu et al., 2023, Sec. 3.2,
"efficient camera-to-BEV transformation"): the kernel sums the features of all frustum
points falling into one BEV cell. Here the sum is an ``index_add_`` over the flattened cell
index, which runs on any device and is differentiable w.r.t. the features (the cell
assignment is not, as in the original).

Output layout is ``(B, C, Z, Y, X)``: rows of a BEV map are the y axis, columns the x axis,
the layout MMDet3D's ``SparseEncoder`` and ``CenterHead`` use.

This file imports torch only.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import Tensor


def points_to_voxel_coords(
    points: Tensor,
    grid_lower: Sequence[float],
    voxel_size: Sequence[float],
    grid_shape: Sequence[int],
) -> Tuple[Tensor, Tensor]:
    """Integer voxel coordinates of 3D points and which of them lie inside the grid.

    Args:
        points: ``(..., 3)`` x, y, z in metres (any leading shape, e.g. ``(B, N, D, H, W, 3)``).
        grid_lower: ``(x_min, y_min, z_min)``: lower corner of voxel ``(0, 0, 0)``.
        voxel_size: ``(vx, vy, vz)``.
        grid_shape: ``(X, Y, Z)`` voxels per axis.

    Returns:
        ``coords`` ``(..., 3)`` long ``(z, y, x)`` and ``inside`` ``(...)`` bool.
    """
    low = points.new_tensor(list(grid_lower))
    size = points.new_tensor(list(voxel_size))
    xyz = torch.floor((points - low) / size).long()
    shape = torch.tensor(list(grid_shape), device=points.device)
    inside = ((xyz >= 0) & (xyz < shape)).all(dim=-1)
    return xyz.flip(-1), inside


def bev_pool(
    feats: Tensor,
    coords: Tensor,
    batch_size: int,
    grid_shape: Sequence[int],
    reduce: str = 'sum',
) -> Tensor:
    """Pool point features into a dense voxel grid.

    Args:
        feats: ``(M, C)`` point features.
        coords: ``(M, 4)`` integer ``(batch, z, y, x)`` of each point; all must be inside
            the grid (filter with :func:`points_to_voxel_coords` first).
        batch_size: ``B``.
        grid_shape: ``(X, Y, Z)`` voxels per axis.
        reduce: ``'sum'`` (BEVFusion) or ``'mean'`` (average of the points of a cell).

    Returns:
        ``(B, C, Z, Y, X)`` pooled features; empty cells are zero.
    """
    if feats.dim() != 2 or coords.dim() != 2 or coords.shape[1] != 4:
        raise ValueError(
            f'bev_pool expects feats (M, C) and coords (M, 4), got {tuple(feats.shape)} '
            f'and {tuple(coords.shape)}'
        )
    if feats.shape[0] != coords.shape[0]:
        raise ValueError(f'{feats.shape[0]} features but {coords.shape[0]} coordinates')
    if reduce not in ('sum', 'mean'):
        raise ValueError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    nx, ny, nz = (int(v) for v in grid_shape)
    c = coords.long()
    linear = ((c[:, 0] * nz + c[:, 1]) * ny + c[:, 2]) * nx + c[:, 3]
    num_cells = batch_size * nz * ny * nx
    out = feats.new_zeros((num_cells, feats.shape[1]))
    out = out.index_add(0, linear, feats)
    if reduce == 'mean':
        count = torch.bincount(linear, minlength=num_cells).clamp(min=1).to(feats.dtype)
        out = out / count.unsqueeze(1)
    return out.view(batch_size, nz, ny, nx, -1).permute(0, 4, 1, 2, 3).contiguous()


def collapse_z(volume: Tensor) -> Tensor:
    """Stack the z slices of a ``(B, C, Z, Y, X)`` volume into channels: ``(B, C*Z, Y, X)``.

    Channel ``c * Z + z`` holds feature ``c`` of slice ``z``, as ``volume.flatten(1, 2)``.
    """
    return volume.flatten(1, 2)
