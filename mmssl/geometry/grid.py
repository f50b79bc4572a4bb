"""Voxel and BEV grids of point clouds (pure PyTorch).

``point_cloud_range = (x_min, y_min, z_min, x_max, y_max, z_max)`` and ``voxel_size = (dx, dy,
dz)``; grids are indexed ``(Z, Y, X)`` (BEV maps ``(Y, X)``); a point with
``x_min <= x < x_max`` (same for y, z) lies in cell ``floor((x - x_min) / dx)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


def grid_shape(point_cloud_range: Sequence[float], voxel_size: Sequence[float]) -> tuple:
    """``(Z, Y, X)`` number of cells of a grid (rounded to the nearest integer)."""
    sizes = [
        round((point_cloud_range[i + 3] - point_cloud_range[i]) / voxel_size[i])
        for i in range(len(voxel_size))
    ]
    return tuple(reversed(sizes))


def voxel_coords(
    points: Tensor, point_cloud_range: Sequence[float], voxel_size: Sequence[float]
) -> tuple[Tensor, Tensor]:
    """Integer ``(z, y, x)`` cell of every point and whether it lies inside the range.

    Args:
        points: ``(N, C)``.
        point_cloud_range: 6 floats.
        voxel_size: 3 floats (``dx, dy, dz``); with 2 floats only ``(y, x)`` are computed.

    Returns:
        ``coords`` ``(N, 3)`` (or ``(N, 2)``) long in ``(z, y, x)`` order and ``inside`` ``(N,)``
        bool. Coordinates of points outside the range are clamped into it (mask them).
    """
    ndim = len(voxel_size)
    lo = points.new_tensor(point_cloud_range[:ndim])
    size = points.new_tensor(voxel_size)
    shape_xyz = torch.tensor(list(reversed(grid_shape(point_cloud_range, voxel_size))), device=points.device)
    idx = torch.floor((points[:, :ndim] - lo) / size).long()
    inside = ((idx >= 0) & (idx < shape_xyz)).all(dim=1)
    idx = torch.minimum(idx.clamp(min=0), shape_xyz - 1)
    return idx.flip(1), inside


def occupancy_grid(points: Tensor, point_cloud_range: Sequence[float], voxel_size: Sequence[float]) -> Tensor:
    """Binary voxel occupancy of the points inside ``point_cloud_range``.

    Returns:
        ``(Z, Y, X)`` bool, True where at least one point lies in the voxel.
    """
    shape = grid_shape(point_cloud_range, voxel_size)
    coords, inside = voxel_coords(points, point_cloud_range, voxel_size)
    c = coords[inside]
    occ = torch.zeros(shape, dtype=torch.bool, device=points.device)
    occ[c[:, 0], c[:, 1], c[:, 2]] = True
    return occ


def bev_depth_height(
    points: Tensor, point_cloud_range: Sequence[float], bev_cell_size: Sequence[float]
) -> tuple[Tensor, Tensor, Tensor]:
    """Top-down (BEV) height and depth maps, as seen by vertical rays looking down.

    For BEV cell ``(y, x)`` (size ``bev_cell_size = (dx, dy)`` over the x/y extent of
    ``point_cloud_range``), let ``z_top`` be the z of the highest point inside the range that
    falls in the cell. Then

    * ``height = z_top - z_min`` (height above the range floor, metres), and
    * ``depth = z_max - z_top`` (distance travelled by a ray cast down from the top of the
      range until it hits the highest point, metres; NS-MAE's BEV rendering, Xu et al., 2023).

    Both are 0 in cells without points; ``occupied`` tells them apart from a point exactly
    on the floor (height 0) or at the top (depth 0).

    Returns:
        ``depth``, ``height`` ``(Y, X)`` float and ``occupied`` ``(Y, X)`` bool.
    """
    x_min, y_min, z_min, x_max, y_max, z_max = [float(v) for v in point_cloud_range]
    ny, nx = grid_shape(point_cloud_range, bev_cell_size[:2])
    coords, inside = voxel_coords(points, point_cloud_range, bev_cell_size[:2])
    z = points[:, 2]
    inside = inside & (z >= z_min) & (z < z_max)
    flat = coords[inside, 0] * nx + coords[inside, 1]
    top = torch.full((ny * nx,), -math.inf, dtype=points.dtype, device=points.device)
    top.scatter_reduce_(0, flat, z[inside], reduce='amax', include_self=True)
    occupied = torch.isfinite(top)
    height = torch.where(occupied, top - z_min, torch.zeros_like(top))
    depth = torch.where(occupied, z_max - top, torch.zeros_like(top))
    return depth.view(ny, nx), height.view(ny, nx), occupied.view(ny, nx)


def unique_voxels(coords: Tensor, shape: Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
    """Unique voxel coordinates and, per point, the index of its voxel.

    Args:
        coords: ``(N, D)`` long non-negative voxel coordinates.
        shape: Grid shape (``D`` ints) bounding ``coords``; with it the coordinates are
            linearised and ``torch.unique`` runs on 1D keys (about 100x faster than on rows).

    Returns:
        ``voxels`` ``(V, D)`` unique coordinates sorted lexicographically and ``inverse``
        ``(N,)`` with ``voxels[inverse] == coords``.
    """
    if shape is None:
        return torch.unique(coords, dim=0, return_inverse=True)
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * int(shape[i + 1])
    keys = (coords * coords.new_tensor(strides)).sum(dim=1)
    ukeys, inverse = torch.unique(keys, return_inverse=True)
    voxels = torch.stack(
        [torch.div(ukeys, st, rounding_mode='floor') % int(n) for st, n in zip(strides, shape)], dim=1
    )
    return voxels, inverse
