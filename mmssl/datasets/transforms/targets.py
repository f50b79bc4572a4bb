"""Self-supervised target transforms: depth maps, BEV depth/height, occupancy, point-to-pixel.

Each transform computes its target from the points *at its position in the pipeline* (after the
augmentations before it, in the augmented geometry) with the math of
:mod:`mmssl.geometry`, and stores ``torch.Tensor`` results that
:class:`~mmssl.datasets.transforms.PackSSLInputs` packs into ``data_sample.ssl_targets``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet3d.structures.points import BasePoints

from mmssl import geometry as G
from mmssl.registry import TRANSFORMS


def points_tensor(results: dict, key: str = 'points') -> torch.Tensor:
    """``(N, C)`` float tensor of ``results[key]`` (``BasePoints``, tensor or array)."""
    pts = results[key]
    if isinstance(pts, BasePoints):
        return pts.tensor
    return torch.as_tensor(np.asarray(pts) if not isinstance(pts, torch.Tensor) else pts)


def _lidar2img(results: dict) -> torch.Tensor:
    return torch.as_tensor(np.asarray(results['lidar2img'], dtype=np.float64))


def _img_hw(results: dict) -> tuple[int, int]:
    shape = results['img_shape']
    return int(shape[0]), int(shape[1])


@TRANSFORMS.register_module()
class DepthMapTarget(BaseTransform):
    """Perspective depth maps ``depth_maps`` ``(N_cam, H / stride, W / stride)``.

    The points are projected with the (augmented) ``lidar2img`` into images of ``img_shape``
    (the network input resolution); each pixel keeps the camera-z depth (metres) of the nearest
    point, 0 where no point lands (NS-MAE's perspective depth target, Xu et al., 2023; with
    ``stride > 1`` each output cell is the minimum over its ``stride x stride`` block).

    Args:
        stride: Output stride.
        min_depth: Points at camera-z <= ``min_depth`` are ignored.
        points_key: Results key of the points.
        out_key: Results key of the output.
    """

    def __init__(
        self,
        stride: int = 1,
        min_depth: float = 1e-3,
        points_key: str = 'points',
        out_key: str = 'depth_maps',
    ) -> None:
        self.stride = stride
        self.min_depth = min_depth
        self.points_key = points_key
        self.out_key = out_key

    def transform(self, results: dict) -> dict:
        pts = points_tensor(results, self.points_key).double()
        results[self.out_key] = G.depth_maps(
            pts, _lidar2img(results), _img_hw(results), self.stride, self.min_depth
        ).float()
        return results


@TRANSFORMS.register_module()
class PointToPixelTarget(BaseTransform):
    """Point-to-pixel correspondences ``point2pixel`` ``(M, 4)``: point index, camera id, u, v.

    ``u, v`` are continuous pixel coordinates in the (augmented) image; point indices refer to
    ``results[points_key]`` as it is here, so place this after every transform that removes or
    reorders points (range filter, shuffle, masking).
    """

    def __init__(
        self, min_depth: float = 1e-3, points_key: str = 'points', out_key: str = 'point2pixel'
    ) -> None:
        self.min_depth = min_depth
        self.points_key = points_key
        self.out_key = out_key

    def transform(self, results: dict) -> dict:
        pts = points_tensor(results, self.points_key).double()
        results[self.out_key] = G.point_to_pixel(pts, _lidar2img(results), _img_hw(results), self.min_depth)
        return results


@TRANSFORMS.register_module()
class BEVDepthHeightTarget(BaseTransform):
    """BEV height and depth maps ``bev_height``, ``bev_depth`` and ``bev_occupied`` ``(Y, X)``.

    For each BEV cell (``bev_cell_size`` over the x/y extent of ``point_cloud_range``), with
    ``z_top`` the z of the highest in-range point in the cell: ``bev_height = z_top - z_min``
    (height above the range floor) and ``bev_depth = z_max - z_top`` (how far a vertical ray cast
    down from the top of the range travels before it hits the highest point, NS-MAE's BEV rays,
    Xu et al., 2023), both in metres and 0 in empty cells; ``bev_occupied`` marks non-empty cells.
    NS-MAE builds its BEV target from the *masked* voxels only: use
    ``points_key='masked_points'`` after :class:`LidarVoxelMask` for that.

    Args:
        point_cloud_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)``.
        bev_cell_size: ``(dx, dy)`` metres.
        points_key: Results key of the points.
        prefix: Output keys are ``{prefix}depth``, ``{prefix}height``, ``{prefix}occupied``.
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        bev_cell_size: Sequence[float],
        points_key: str = 'points',
        prefix: str = 'bev_',
    ) -> None:
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.bev_cell_size = [float(v) for v in bev_cell_size[:2]]
        self.points_key = points_key
        self.prefix = prefix

    def transform(self, results: dict) -> dict:
        pts = points_tensor(results, self.points_key).double()
        depth, height, occ = G.bev_depth_height(pts, self.point_cloud_range, self.bev_cell_size)
        results[f'{self.prefix}depth'] = depth.float()
        results[f'{self.prefix}height'] = height.float()
        results[f'{self.prefix}occupied'] = occ
        return results


@TRANSFORMS.register_module()
class OccupancyTarget(BaseTransform):
    """Binary voxel occupancy ``occupancy`` ``(Z, Y, X)`` of the points inside the range
    (Occupancy-MAE's target, Min et al., arXiv:2206.09900).

    Args:
        point_cloud_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)``.
        voxel_size: ``(dx, dy, dz)`` metres.
        points_key: Results key of the points.
        out_key: Results key of the output.
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        voxel_size: Sequence[float],
        points_key: str = 'points',
        out_key: str = 'occupancy',
    ) -> None:
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.voxel_size = [float(v) for v in voxel_size]
        self.points_key = points_key
        self.out_key = out_key

    def transform(self, results: dict) -> dict:
        pts = points_tensor(results, self.points_key).double()
        results[self.out_key] = G.occupancy_grid(pts, self.point_cloud_range, self.voxel_size)
        return results
