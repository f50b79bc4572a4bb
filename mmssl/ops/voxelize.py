"""Pure-PyTorch point-cloud voxelisation (hard and dynamic), the same on CPU and GPU.

The semantics follow mmcv 2.1's ``Voxelization`` op (``mmcv/ops/csrc/pytorch/cpu/voxelization.cpp``):

* A point's voxel is ``floor((p - range_min) / voxel_size)`` per axis, computed in the
  points' dtype; a point is dropped when any coordinate falls outside ``[0, grid_size)``,
  where ``grid_size = round((range_max - range_min) / voxel_size)``.
* Coordinates are returned in ``(z, y, x)`` order (as mmcv and spconv expect).
* Hard voxelisation numbers voxels in the order of their first point, keeps at most
  ``max_voxels`` voxels (points of later voxels are dropped) and, per voxel, the first
  ``max_points`` points in input order; unused slots are zero.

Unlike mmcv's CUDA kernel (``deterministic=False`` there may reorder), this implementation is
vectorised with sorting and scatter, so the result does not depend on the device.

This file imports torch only.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import torch
from torch import Tensor, nn


def voxel_grid_size(voxel_size: Sequence[float], point_cloud_range: Sequence[float]) -> list:
    """Number of voxels per axis, ``round((max - min) / size)``, in ``(x, y, z)`` order.

    Args:
        voxel_size: ``(vx, vy, vz)`` in metres.
        point_cloud_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)`` in metres.

    Returns:
        ``[nx, ny, nz]`` as Python ints (rounded half away from zero, like C's ``round``).
    """
    if len(voxel_size) != 3 or len(point_cloud_range) != 6:
        raise ValueError(
            f'voxel_size needs 3 values and point_cloud_range 6, got {list(voxel_size)} '
            f'and {list(point_cloud_range)}'
        )
    vs = torch.tensor(voxel_size, dtype=torch.float32)
    pcr = torch.tensor(point_cloud_range, dtype=torch.float32)
    ratio = ((pcr[3:] - pcr[:3]) / vs).tolist()
    return [int(math.floor(r + 0.5)) for r in ratio]


def dynamic_voxelize(
    points: Tensor, voxel_size: Sequence[float], point_cloud_range: Sequence[float]
) -> Tensor:
    """Voxel coordinate of every point (dynamic voxelisation).

    Args:
        points: ``(N, C)`` with ``C >= 3``: x, y, z, then any features.
        voxel_size: ``(vx, vy, vz)``.
        point_cloud_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)``.

    Returns:
        ``(N, 3)`` int32 coordinates ``(z, y, x)``; rows of points outside the range are -1.
    """
    if points.dim() != 2 or points.shape[1] < 3:
        raise ValueError(f'points must be (N, C>=3), got shape {tuple(points.shape)}')
    grid = torch.tensor(voxel_grid_size(voxel_size, point_cloud_range), device=points.device)
    vs = torch.tensor(voxel_size, dtype=points.dtype, device=points.device)
    low = torch.tensor(point_cloud_range[:3], dtype=points.dtype, device=points.device)
    coords_xyz = torch.floor((points[:, :3] - low) / vs).long()
    valid = ((coords_xyz >= 0) & (coords_xyz < grid)).all(dim=1)
    coors = coords_xyz.flip(1).to(torch.int32)
    coors[~valid] = -1
    return coors


def hard_voxelize(
    points: Tensor,
    voxel_size: Sequence[float],
    point_cloud_range: Sequence[float],
    max_points: int,
    max_voxels: int,
) -> Tuple[Tensor, Tensor, Tensor]:
    """Group points into at most ``max_voxels`` voxels of at most ``max_points`` points.

    Args:
        points: ``(N, C)``: x, y, z, features.
        voxel_size: ``(vx, vy, vz)``.
        point_cloud_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)``.
        max_points: Points kept per voxel (the first ones in input order); -1 = no limit.
        max_voxels: Voxels kept (in the order of their first point); -1 = no limit.

    Returns:
        ``voxels`` ``(M, P, C)`` (zero-padded), ``coors`` ``(M, 3)`` int32 ``(z, y, x)`` and
        ``num_points`` ``(M,)`` int32, with ``M <= max_voxels`` voxels and
        ``P = max_points`` (or the largest voxel's count when ``max_points == -1``).
    """
    coors = dynamic_voxelize(points, voxel_size, point_cloud_range)
    num_feats = points.shape[1]
    valid_idx = torch.nonzero(coors[:, 0] >= 0, as_tuple=False).squeeze(1)
    if valid_idx.numel() == 0:
        width = max(max_points, 0)
        return (
            points.new_zeros((0, width, num_feats)),
            coors.new_zeros((0, 3)),
            coors.new_zeros((0,)),
        )
    nx, ny, nz = voxel_grid_size(voxel_size, point_cloud_range)
    c = coors[valid_idx].long()
    linear = (c[:, 0] * ny + c[:, 1]) * nx + c[:, 2]
    uniq, inverse = torch.unique(linear, return_inverse=True)
    # Voxels are numbered by the input index of their first point.
    first = torch.full((uniq.numel(),), valid_idx.numel(), dtype=torch.long, device=points.device)
    order_in_valid = torch.arange(valid_idx.numel(), device=points.device)
    first = first.scatter_reduce(0, inverse, order_in_valid, reduce='amin')
    voxel_rank = torch.empty_like(first)
    voxel_rank[torch.argsort(first)] = torch.arange(uniq.numel(), device=points.device)
    point_voxel = voxel_rank[inverse]  # (V,) voxel number of each valid point
    num_voxels = uniq.numel() if max_voxels < 0 else min(uniq.numel(), max_voxels)

    # Slot of each point inside its voxel: its rank among that voxel's points in input order.
    sorted_voxel, perm = torch.sort(point_voxel, stable=True)
    counts = torch.bincount(sorted_voxel, minlength=uniq.numel())
    starts = torch.cumsum(counts, 0) - counts
    slot_sorted = torch.arange(sorted_voxel.numel(), device=points.device) - starts[sorted_voxel]
    slot = torch.empty_like(slot_sorted)
    slot[perm] = slot_sorted

    keep = point_voxel < num_voxels
    width = int(counts.max().item()) if max_points < 0 else max_points
    keep &= slot < width
    voxels = points.new_zeros((num_voxels, width, num_feats))
    voxels[point_voxel[keep], slot[keep]] = points[valid_idx[keep]]
    num_points = counts[:num_voxels].clamp(max=width).to(torch.int32)
    out_coors = torch.empty((num_voxels, 3), dtype=torch.int32, device=points.device)
    first_point = valid_idx[first.gather(0, torch.argsort(first))[:num_voxels]]
    out_coors[:] = coors[first_point]
    return voxels, out_coors, num_points


class Voxelization(nn.Module):
    """Drop-in, device-independent replacement of ``mmcv.ops.Voxelization``.

    Args:
        voxel_size: ``(vx, vy, vz)``.
        point_cloud_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)``.
        max_num_points: Points per voxel; -1 selects dynamic voxelisation.
        max_voxels: Voxel budget, an int or ``(train, test)``; -1 = no limit.
        deterministic: Accepted for config compatibility with mmcv; this implementation is
            always deterministic.
    """

    def __init__(
        self,
        voxel_size: Sequence[float],
        point_cloud_range: Sequence[float],
        max_num_points: int,
        max_voxels: Union[int, Tuple[int, int]] = 20000,
        deterministic: bool = True,
    ) -> None:
        super().__init__()
        self.voxel_size = [float(v) for v in voxel_size]
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.max_num_points = int(max_num_points)
        if isinstance(max_voxels, (tuple, list)):
            self.max_voxels = tuple(int(v) for v in max_voxels)
        else:
            self.max_voxels = (int(max_voxels), int(max_voxels))
        self.deterministic = deterministic
        self.grid_size = voxel_grid_size(self.voxel_size, self.point_cloud_range)
        # Same attribute mmcv exposes (x, y, z), used by some heads for their grid.
        self.pcd_shape = list(self.grid_size)

    def forward(self, points: Tensor):
        """Voxelise one point cloud ``(N, C)``.

        Returns:
            Dynamic (``max_num_points == -1`` or ``max_voxels == -1``): ``(N, 3)`` coordinates.
            Hard: ``(voxels (M, P, C), coors (M, 3), num_points (M,))``.
        """
        max_voxels = self.max_voxels[0] if self.training else self.max_voxels[1]
        if self.max_num_points == -1 or max_voxels == -1:
            return dynamic_voxelize(points, self.voxel_size, self.point_cloud_range)
        return hard_voxelize(points, self.voxel_size, self.point_cloud_range, self.max_num_points, max_voxels)

    def extra_repr(self) -> str:
        return (
            f'voxel_size={self.voxel_size}, point_cloud_range={self.point_cloud_range}, '
            f'max_num_points={self.max_num_points}, max_voxels={self.max_voxels}'
        )
