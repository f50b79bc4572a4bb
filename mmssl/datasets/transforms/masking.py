"""Masking transforms: thin pipeline wrappers of the registered maskers of :mod:`mmssl.models.maskers`.

Each transform takes exactly the arguments of its masker (one vocabulary for the pipeline and the
model side) plus ``seed``, and returns the masks in the results (``img_patch_mask``,
``masked_points``, ``masked_voxel_coords``, ``bev_mask_*``); LiDAR masks also remove the masked
points from ``points``. Randomness: with ``seed=None`` each call seeds a ``torch.Generator`` from
NumPy's global RNG (which MMEngine seeds per worker), so runs are reproducible under
``randomness=dict(seed=...)``; an integer ``seed`` gives the transform its own generator (a fixed
sequence of masks, for tests and debugging).
"""

from __future__ import annotations

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmssl.models.maskers import BEVGuidedMasker, ImagePatchMasker, VoxelMasker
from mmssl.registry import TRANSFORMS

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
    """:class:`~mmssl.models.maskers.ImagePatchMasker` masks -> ``img_patch_mask`` ``(N, H/s, W/s)``.

    The images are not modified: the model applies the mask (e.g. NS-MAE replaces masked patches
    of the normalised image by its masker's learnable token).

    Args:
        seed: see the module docstring.
        out_key: results key of the mask.
        **masker_args: ``patch_size``, ``ratio``, ``shared`` of the masker.
    """

    def __init__(self, seed: int | None = None, out_key: str = 'img_patch_mask', **masker_args) -> None:
        self.masker = ImagePatchMasker(learnable_token=False, **masker_args)
        self.out_key = out_key
        self._init_rng(seed)

    def transform(self, results: dict) -> dict:
        hw = results['img_shape'][:2]
        results[self.out_key] = self.masker.generate(len(results['img']), hw, self._generator())
        return results


@TRANSFORMS.register_module()
class LidarVoxelMask(_SeededTransform):
    """:class:`~mmssl.models.maskers.VoxelMasker` in the pipeline.

    Outputs: ``points`` without the masked voxels' points; ``masked_points`` ``(K, C)`` the removed
    points; ``masked_voxel_coords`` / ``visible_voxel_coords`` ``(V_m, 3)`` / ``(V - V_m, 3)`` long
    ``(z, y, x)`` voxel indices. Points outside the range are never masked (filter them first).

    Args:
        seed: see the module docstring.
        **masker_args: ``point_cloud_range``, ``voxel_size``, ``ratio``, ``mode``,
            ``range_band_edges``, ``range_ratios`` of the masker.
    """

    def __init__(self, seed: int | None = None, **masker_args) -> None:
        self.masker = VoxelMasker(**masker_args)
        self._init_rng(seed)

    def transform(self, results: dict) -> dict:
        out = self.masker(points_tensor(results), self._generator())
        self._split_points(results, out.point_mask)
        results['masked_voxel_coords'] = out.masked_voxels
        results['visible_voxel_coords'] = out.visible_voxels
        return results


@TRANSFORMS.register_module()
class BEVGuidedMask(_SeededTransform):
    """:class:`~mmssl.models.maskers.BEVGuidedMasker` (AD-L-JEPA) in the pipeline.

    Outputs: ``bev_mask_nonempty``, ``bev_mask_empty``, ``bev_nonempty`` ``(Y, X)`` bool,
    ``points`` (visible), ``masked_points`` ``(K, C)``.

    Args:
        seed: see the module docstring.
        **masker_args: ``point_cloud_range``, ``bev_cell_size``, ``ratio_nonempty``,
            ``ratio_empty`` of the masker.
    """

    def __init__(self, seed: int | None = None, **masker_args) -> None:
        self.masker = BEVGuidedMasker(**masker_args)
        self._init_rng(seed)

    def transform(self, results: dict) -> dict:
        out = self.masker(points_tensor(results), self._generator())
        self._split_points(results, out.point_mask)
        results['bev_mask_nonempty'] = out.mask_nonempty
        results['bev_mask_empty'] = out.mask_empty
        results['bev_nonempty'] = out.nonempty
        return results
