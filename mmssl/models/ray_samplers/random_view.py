"""Rays of random virtual cameras with z-buffered LiDAR depth (NS-MAE's D^Rand ablation)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mmssl.geometry import depth_maps, pixel_centers
from mmssl.ops.rays import perspective_rays, random_virtual_cameras, sample_pixel_indices
from mmssl.registry import MODELS

from .bundle import RayBundle, RenderContext


@MODELS.register_module()
class RandomViewRaySampler(nn.Module):
    """Random horizontal pinhole cameras inside the volume rendering LiDAR depth.

    Per sample, ``num_views`` cameras (:func:`mmssl.ops.rays.random_virtual_cameras`, 70 degree
    horizontal field of view) see the z-buffered depth of all points; ``num_rays`` rays per view
    are drawn among pixels with a depth.

    Args:
        point_cloud_range: the render volume (cameras are placed inside it).
        num_views: virtual cameras per sample.
        view_size: ``(h, w)`` of the virtual images.
        num_rays: rays per view.
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        num_views: int = 1,
        view_size: Sequence[int] = (32, 88),
        num_rays: int = 256,
    ) -> None:
        super().__init__()
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.num_views = int(num_views)
        self.view_size = tuple(int(v) for v in view_size)
        self.num_rays = int(num_rays)

    def forward(self, ctx: RenderContext, generator: torch.Generator | None = None) -> RayBundle:
        """Rays ``(B, num_views num_rays, 3)`` with ``depth``/``valid`` targets."""
        if ctx.points is None:
            raise KeyError('RandomViewRaySampler needs points in the render context')
        h, w = self.view_size
        origins, dirs, t_depth = [], [], []
        for pts in ctx.points:
            mats = random_virtual_cameras(self.num_views, self.point_cloud_range, (h, w), generator=generator)
            mats = mats.to(pts)
            depth = depth_maps(pts, mats, (h, w))  # (V, h, w)
            for v in range(self.num_views):
                idx = sample_pixel_indices(h * w, 0, depth[v].flatten() > 0, self.num_rays, generator)
                o, d = perspective_rays(mats[v], pixel_centers(idx, w).to(pts))
                origins.append(o)
                dirs.append(d)
                t_depth.append(depth[v].flatten()[idx])
        b = len(ctx.points)
        depth = torch.stack(t_depth).view(b, -1)
        return RayBundle(
            origins=torch.stack(origins).view(b, -1, 3),
            directions=torch.stack(dirs).view(b, -1, 3),
            targets=dict(depth=depth, valid=depth > 0),
        )
