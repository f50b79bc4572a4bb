"""Model-side multi-modal masking for masked pre-training (NS-MAE Sec. 3.2).

* :class:`MaskTokenImageMasker` replaces masked ``s x s`` image patches by a LEARNABLE
  [MASK] token (a ``(3, s, s)`` pixel pattern in normalised-image space, initialised to
  zeros = the dataset mean colour, as in the official code). The mask itself comes from the
  pipeline (``ssl_targets.img_patch_mask``) or is drawn here, independently per camera by
  default (``shared=True`` reproduces the official code's one mask for all cameras and the
  whole batch).
* :class:`VoxelPointMasker` voxelises a point cloud and removes the points of exactly
  ``round(ratio * V)`` of its ``V`` non-empty voxels (paper: 90%), or uses per-distance-band
  ratios (``range_aware``, an option from range-aware masking; NS-MAE itself masks
  uniformly). It is used only when the pipeline did not mask the LiDAR already.

Image and LiDAR masks are drawn independently.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmssl.datasets.transforms.functional import (
    exact_random_mask,
    image_patch_mask,
    range_aware_voxel_mask,
    voxel_coords,
)


class MaskTokenImageMasker(nn.Module):
    """Replace masked image patches by a learnable token.

    Args:
        patch_size: patch side ``s`` in pixels (paper: 4 at 128x352, 8 at 256x704).
        ratio: fraction of patches masked per image (paper: 0.5).
        shared: one mask for every camera and batch item (official code) instead of one
            independent mask per camera image (default).
    """

    def __init__(self, patch_size: int = 8, ratio: float = 0.5, shared: bool = False) -> None:
        super().__init__()
        self.patch_size = int(patch_size)
        self.ratio = float(ratio)
        self.shared = shared
        self.mask_token = nn.Parameter(torch.zeros(1, 3, self.patch_size, self.patch_size))

    def generate(
        self, batch: int, num_cams: int, img_hw: Sequence[int], generator: torch.Generator | None = None
    ) -> Tensor:
        """Draw masks ``(B, N, H / s, W / s)`` bool (True = masked), exact ratio per image."""
        if self.shared:
            one = image_patch_mask(1, img_hw, self.patch_size, self.ratio, generator=generator)
            return one.expand(batch, num_cams, *one.shape[1:]).clone()
        return torch.stack(
            [
                image_patch_mask(num_cams, img_hw, self.patch_size, self.ratio, generator=generator)
                for _ in range(batch)
            ]
        )

    def forward(self, imgs: Tensor, mask: Tensor) -> Tensor:
        """Apply the token: ``x (1 - m) + token m``.

        Args:
            imgs: (B, N, 3, H, W) normalised images.
            mask: (B, N, H / s, W / s) bool, True = masked.

        Returns:
            (B, N, 3, H, W) masked images (differentiable w.r.t. the token).
        """
        b, n, _, h, w = imgs.shape
        s = self.patch_size
        if mask.shape != (b, n, h // s, w // s) or h % s or w % s:
            raise ValueError(
                f'image patch mask {tuple(mask.shape)} does not tile images '
                f'{tuple(imgs.shape)} with {s}x{s} patches'
            )
        m = mask.to(imgs.dtype).repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)
        m = m.unsqueeze(2)  # (B, N, 1, H, W)
        token = self.mask_token.repeat(1, 1, h // s, w // s).view(1, 1, 3, h, w)
        return imgs * (1 - m) + token * m


class VoxelPointMasker(nn.Module):
    """Drop the points of a random subset of non-empty voxels.

    Args:
        voxel_size: (dx, dy, dz) of the masking voxels (paper: the encoder's voxels).
        point_cloud_range: 6 floats; points outside are kept unmasked.
        ratio: fraction of non-empty voxels masked (paper: 0.9).
        range_aware: optional ``dict(band_edges=(30, 50), ratios=(0.9, 0.7, 0.5))``:
            per horizontal-distance band ratios instead of ``ratio``.
    """

    def __init__(
        self,
        voxel_size: Sequence[float],
        point_cloud_range: Sequence[float],
        ratio: float = 0.9,
        range_aware: dict | None = None,
    ) -> None:
        super().__init__()
        self.voxel_size = [float(v) for v in voxel_size]
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.ratio = float(ratio)
        self.range_aware = range_aware

    def forward(self, points: Tensor, generator: torch.Generator | None = None) -> Tuple[Tensor, Tensor]:
        """Split one cloud ``(P, C)`` into visible ``(P - K, C)`` and masked ``(K, C)`` points."""
        coords, inside = voxel_coords(points, self.point_cloud_range, self.voxel_size)
        idx = torch.nonzero(inside, as_tuple=True)[0]
        c = coords[idx]
        dims = c.max(dim=0).values + 1 if c.numel() else c.new_ones(3)
        key = (c[:, 0] * dims[1] + c[:, 1]) * dims[2] + c[:, 2]  # 1D unique: much faster
        keys, inverse = torch.unique(key, return_inverse=True)
        voxels = torch.stack(
            [keys // (dims[1] * dims[2]), (keys // dims[2]) % dims[1], keys % dims[2]], dim=1
        )
        if self.range_aware is not None:
            lo = points.new_tensor(self.point_cloud_range[:2])
            size = points.new_tensor(self.voxel_size[:2])
            centres = lo + (voxels[:, [2, 1]].to(points.dtype) + 0.5) * size
            vmask = range_aware_voxel_mask(
                centres, self.range_aware['band_edges'], self.range_aware['ratios'], generator
            )
        else:
            vmask = exact_random_mask(voxels.shape[0], self.ratio, generator, points.device)
        masked = torch.zeros(points.shape[0], dtype=torch.bool, device=points.device)
        masked[idx] = vmask[inverse]
        return points[~masked], points[masked]

    def mask_batch(
        self, points: List[Tensor], generator: torch.Generator | None = None
    ) -> Tuple[List[Tensor], List[Tensor]]:
        """Mask every cloud of a batch independently."""
        out = [self.forward(p, generator) for p in points]
        return [o[0] for o in out], [o[1] for o in out]
