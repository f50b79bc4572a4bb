"""Masking transforms: image patches, LiDAR voxels (uniform / range-aware), BEV-guided cells.

Masks are drawn with exact counts (``round(ratio * n)``) by the pure functions of
:mod:`~mmssl.datasets.transforms.functional` and returned in the results (``img_patch_mask``,
``masked_points``, ``masked_voxel_coords``, ``bev_mask_*``); LiDAR masks also remove the masked
points from ``points``. Randomness: with ``seed=None`` each call seeds a ``torch.Generator`` from
NumPy's global RNG (which MMEngine seeds per worker), so runs are reproducible under
``randomness=dict(seed=...)``; an integer ``seed`` gives the transform its own generator
(a fixed sequence of masks, for tests and debugging).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmssl.registry import TRANSFORMS

from . import functional as F
from .targets import points_tensor


class _SeededTransform(BaseTransform):
    def _init_rng(self, seed: int | None) -> None:
        self.seed = seed
        self._gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None

    def _generator(self) -> torch.Generator:
        if self._gen is not None:
            return self._gen
        return torch.Generator().manual_seed(int(np.random.randint(0, 2**31 - 1)))

    @staticmethod
    def _split_points(results: dict, masked: torch.Tensor) -> None:
        """Move the points where ``masked`` is True from ``points`` to ``masked_points``."""
        pts = results['points']
        results['masked_points'] = points_tensor(results)[masked].clone()
        results['points'] = pts[~masked]


@TRANSFORMS.register_module()
class ImagePatchMask(_SeededTransform):
    """Random square-patch mask per camera image -> ``img_patch_mask`` ``(N_cam, H/s, W/s)`` bool.

    Exactly ``round(ratio * n_patches)`` patches are masked (True) in every image. NS-MAE (Xu et al.,
    2023) masks 50% with 8x8 patches at 256x704 (4x4 at 128x352). The official NS-MAE code draws
    one mask shared by all cameras (``shared_across_cameras=True``); the default here is an
    independent mask per camera. The images are not modified: the model applies the mask (e.g.
    NS-MAE replaces masked patches of the normalised image by a learnable token).

    Args:
        ratio: Fraction of patches to mask.
        patch_size: Patch side ``s`` in pixels (input resolution, must divide H and W).
        shared_across_cameras: One mask for all cameras of a sample.
        seed: See the module docstring.
    """

    def __init__(
        self,
        ratio: float = 0.5,
        patch_size: int = 8,
        shared_across_cameras: bool = False,
        seed: int | None = None,
        out_key: str = 'img_patch_mask',
    ) -> None:
        self.ratio = ratio
        self.patch_size = patch_size
        self.shared_across_cameras = shared_across_cameras
        self.out_key = out_key
        self._init_rng(seed)

    def transform(self, results: dict) -> dict:
        hw = results['img_shape'][:2]
        results[self.out_key] = F.image_patch_mask(
            len(results['img']),
            hw,
            self.patch_size,
            self.ratio,
            self.shared_across_cameras,
            self._generator(),
        )
        return results


@TRANSFORMS.register_module()
class LidarVoxelMask(_SeededTransform):
    """Mask non-empty voxels and remove their points.

    The in-range points are voxelised (``voxel_size`` over ``point_cloud_range``); of the
    ``V`` non-empty voxels,

    * ``mode='random'``: exactly ``round(ratio * V)`` are masked uniformly (NS-MAE drops 90%,
      Xu et al., 2023; Voxel-MAE/Occupancy-MAE likewise);
    * ``mode='range_aware'``: Occupancy-MAE's range-aware masking (Min et al., arXiv:2206.09900):
      voxels are grouped by the horizontal distance of their centre to the sensor into bands
      with upper edges ``range_band_edges`` (default ``(30, 50)`` m: ``[0, 30]``, ``(30, 50]``,
      ``(50, inf)``) and masked with ``range_ratios`` per band (default ``(0.9, 0.7, 0.7)``:
      the official code, ``pcdet/models/backbones_3d/voxel_mae.py``, keeps ``1 - r`` near and
      ``1 - r + 0.2`` in the two farther bands with ``r = 0.9``, because far voxels are sparser),
      exactly ``round(ratio_b * V_b)`` in band ``b``.

    Outputs: ``points`` without the masked voxels' points; ``masked_points`` ``(K, C)`` the removed
    points; ``masked_voxel_coords`` / ``visible_voxel_coords`` ``(V_m, 3)`` / ``(V - V_m, 3)`` long
    ``(z, y, x)`` voxel indices. Points outside the range are never masked (filter them first).

    Args:
        point_cloud_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)``.
        voxel_size: ``(dx, dy, dz)``.
        ratio: Masking ratio of ``mode='random'``.
        mode: ``'random'`` or ``'range_aware'``.
        range_band_edges: Band edges (metres) of ``'range_aware'``.
        range_ratios: Ratios per band of ``'range_aware'``.
        seed: See the module docstring.
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        voxel_size: Sequence[float],
        ratio: float = 0.9,
        mode: str = 'random',
        range_band_edges: Sequence[float] = (30.0, 50.0),
        range_ratios: Sequence[float] = (0.9, 0.7, 0.7),
        seed: int | None = None,
    ) -> None:
        if mode not in ('random', 'range_aware'):
            raise ValueError(f"mode must be 'random' or 'range_aware', got {mode!r}")
        if mode == 'range_aware' and len(range_ratios) != len(range_band_edges) + 1:
            raise ValueError('range_ratios needs one ratio more than range_band_edges')
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.voxel_size = [float(v) for v in voxel_size]
        self.ratio = ratio
        self.mode = mode
        self.range_band_edges = tuple(range_band_edges)
        self.range_ratios = tuple(range_ratios)
        self._init_rng(seed)

    def transform(self, results: dict) -> dict:
        pts = points_tensor(results)
        coords, inside = F.voxel_coords(pts.double(), self.point_cloud_range, self.voxel_size)
        in_idx = torch.nonzero(inside, as_tuple=True)[0]
        voxels, inverse = F.unique_voxels(
            coords[in_idx], F.grid_shape(self.point_cloud_range, self.voxel_size)
        )
        gen = self._generator()
        if self.mode == 'random':
            vmask = F.exact_random_mask(voxels.shape[0], self.ratio, gen)
        else:
            size = torch.tensor(self.voxel_size[:2], dtype=torch.float64)
            lo = torch.tensor(self.point_cloud_range[:2], dtype=torch.float64)
            centres_xy = (voxels[:, [2, 1]].double() + 0.5) * size + lo
            vmask = F.range_aware_voxel_mask(centres_xy, self.range_band_edges, self.range_ratios, gen)
        masked = torch.zeros(pts.shape[0], dtype=torch.bool)
        masked[in_idx] = vmask[inverse]
        self._split_points(results, masked)
        results['masked_voxel_coords'] = voxels[vmask]
        results['visible_voxel_coords'] = voxels[~vmask]
        return results


@TRANSFORMS.register_module()
class BEVGuidedMask(_SeededTransform):
    """BEV-guided masking of AD-L-JEPA (Zhu et al., 2025; code: HaoranZhuExplorer/AD-L-JEPA-Release).

    The in-range points are binned into BEV cells (``bev_cell_size``, e.g. 0.4 m on KITTI: the
    voxel size times the encoder stride 8). Exactly ``round(ratio_nonempty * n_nonempty)``
    non-empty cells and, separately, ``round(ratio_empty * n_empty)`` empty cells are masked
    (AD-L-JEPA: 50% of each). The points in masked non-empty cells are removed from ``points``
    (the context encoder's input) and returned as ``masked_points`` (the target encoder's input).

    Deviations from the official code (documented): masks are drawn per sample here (the
    official code draws non-empty cells over the whole batch) and empty cells are masked with an
    exact count instead of an independent Bernoulli draw of the same ratio.

    Outputs: ``bev_mask_nonempty``, ``bev_mask_empty``, ``bev_nonempty`` ``(Y, X)`` bool,
    ``points`` (visible), ``masked_points`` ``(K, C)``.
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        bev_cell_size: Sequence[float],
        ratio_nonempty: float = 0.5,
        ratio_empty: float = 0.5,
        seed: int | None = None,
    ) -> None:
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.bev_cell_size = [float(v) for v in bev_cell_size[:2]]
        self.ratio_nonempty = ratio_nonempty
        self.ratio_empty = ratio_empty
        self._init_rng(seed)

    def transform(self, results: dict) -> dict:
        pts = points_tensor(results)
        coords, inside = F.voxel_coords(pts.double(), self.point_cloud_range, self.bev_cell_size)
        z = pts[:, 2]
        inside = inside & (z >= self.point_cloud_range[2]) & (z < self.point_cloud_range[5])
        shape = F.grid_shape(self.point_cloud_range, self.bev_cell_size)
        occupied = torch.zeros(shape, dtype=torch.bool)
        occupied[coords[inside, 0], coords[inside, 1]] = True
        mask_ne, mask_e = F.bev_guided_mask(
            occupied, self.ratio_nonempty, self.ratio_empty, self._generator()
        )
        masked = inside & mask_ne[coords[:, 0], coords[:, 1]]
        self._split_points(results, masked)
        results['bev_mask_nonempty'] = mask_ne
        results['bev_mask_empty'] = mask_e
        results['bev_nonempty'] = occupied
        return results
