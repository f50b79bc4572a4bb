"""Depth-aware perspective ray selection of UniPAD (Sec. 3.3; official ``sample_rays``, METHOD_FACTS 2)."""

from __future__ import annotations

import torch
from torch import Tensor

from mmssl.geometry import depth_maps
from mmssl.ops.rays import sample_pixel_indices
from mmssl.registry import MODELS

from .bundle import RayBundle, RenderContext
from .perspective import PerspectiveRaySampler


@MODELS.register_module()
class DepthAwareRaySampler(PerspectiveRaySampler):
    """``num_rays`` rays per camera through pixels hit by projected LiDAR points.

    The depth targets are recomputed from the render context's points (visible and masked),
    keeping points farther than ``min_dist`` horizontally and nearer than ``max_dist`` (the
    official filter: 3 m and 100 m). Per camera image, when at least ``num_rays`` pixels hold a
    LiDAR depth, ``num_rays`` of them are drawn without replacement; otherwise the rays come from
    the fallback grid: every ``grid_stride``-th pixel in the rows below the top ``skip_top``
    fraction of the image (official: 4 px, 40%), drawn without replacement (with replacement when
    the grid is smaller). Rays and targets as :class:`PerspectiveRaySampler` (``t`` = camera-z).

    Args:
        num_rays: rays per camera image (official 512).
        min_dist, max_dist: horizontal / Euclidean bounds of the LiDAR points used, metres.
        grid_stride: pixel stride of the fallback grid.
        skip_top: fraction of image rows above the fallback grid.
    """

    def __init__(
        self,
        num_rays: int = 512,
        min_dist: float = 3.0,
        max_dist: float = 100.0,
        grid_stride: int = 4,
        skip_top: float = 0.4,
    ) -> None:
        super().__init__(num_random=0, num_depth=num_rays, target_stride=1)
        self.num_rays = int(num_rays)
        self.min_dist, self.max_dist = float(min_dist), float(max_dist)
        self.grid_stride = int(grid_stride)
        self.skip_top = float(skip_top)

    def target_maps(self, ctx: RenderContext) -> tuple:
        """Depth ``(B, N, H, W)`` from the filtered points and colour ``(B, N, 3, H, W)``."""
        if ctx.colour is None or ctx.lidar2img is None or ctx.points is None:
            raise KeyError('DepthAwareRaySampler needs images, lidar2img and points in the render context')
        h, w = ctx.colour.shape[-2:]
        depth = []
        for pts, l2i in zip(ctx.points, ctx.lidar2img):
            horiz = pts[:, :2].norm(dim=-1)
            keep = (horiz > self.min_dist) & (pts[:, :3].norm(dim=-1) < self.max_dist)
            depth.append(depth_maps(pts[keep], l2i, (h, w), stride=1))
        return torch.stack(depth).float(), ctx.colour

    def fallback_grid(self, h: int, w: int, device) -> Tensor:
        """Flat indices of the fallback grid of an ``h x w`` image."""
        rows = torch.arange(int(h * self.skip_top), h, self.grid_stride, device=device)
        cols = torch.arange(0, w, self.grid_stride, device=device)
        return (rows.view(-1, 1) * w + cols.view(1, -1)).flatten()

    def pick(self, valid: Tensor, h: int, w: int, generator: torch.Generator | None = None) -> Tensor:
        """``num_rays`` flat pixel indices of one image from its ``(H * W,)`` depth-valid mask."""
        if int(valid.sum()) < self.num_rays:
            valid = torch.zeros_like(valid)
            valid[self.fallback_grid(h, w, valid.device)] = True
        # among the candidates: without replacement when enough exist, else with replacement
        return sample_pixel_indices(h * w, 0, valid, self.num_rays, generator)

    def forward(self, ctx: RenderContext, generator: torch.Generator | None = None) -> RayBundle:
        """Training rays ``(B, N * num_rays, 3)`` with ``depth`` (camera-z), ``valid`` and ``rgb``."""
        depth, colour = self.target_maps(ctx)
        b, n, h, w = depth.shape
        picks = [[self.pick(depth[i, c].flatten() > 0, h, w, generator) for c in range(n)] for i in range(b)]
        return self._bundle(ctx, depth, colour, picks)
