"""Perspective rays through camera pixels with colour and LiDAR depth targets (NS-MAE Sec. 3.3)."""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.geometry import depth_maps
from mmssl.models.utils.ssl_targets import stacked_ssl_target
from mmssl.ops.rays import perspective_rays, sample_pixel_indices
from mmssl.registry import MODELS

from .bundle import RayBundle, RenderContext


@MODELS.register_module()
class PerspectiveRaySampler(nn.Module):
    """Rays through sub-sampled pixels of every camera.

    Targets on a grid of ``stride``-pixel cells: ``depth`` = the nearest projected LiDAR point's
    camera-z in metres (0 = none; ``ssl_targets.depth_maps`` of the pipeline when present, else
    computed from all points), ``rgb`` = the unmasked image average-pooled to the grid, ``valid`` =
    a depth target exists. Per camera, ``num_random`` cells are drawn uniformly and ``num_depth``
    among cells with a depth target. Rays are parameterised by camera depth
    (:func:`mmssl.ops.rays.perspective_rays`).

    Args:
        num_random: uniform rays per camera and iteration.
        num_depth: rays per camera among cells with a LiDAR depth.
        target_stride: stride of the target grid when targets are computed here.
    """

    def __init__(self, num_random: int = 512, num_depth: int = 256, target_stride: int = 1) -> None:
        super().__init__()
        self.num_random = int(num_random)
        self.num_depth = int(num_depth)
        self.target_stride = int(target_stride)

    def target_maps(self, ctx: RenderContext) -> Tuple[Tensor, Tensor]:
        """Depth ``(B, N, h, w)`` and colour ``(B, N, 3, h, w)`` targets of the batch."""
        if ctx.colour is None or ctx.lidar2img is None:
            raise KeyError('PerspectiveRaySampler needs images and lidar2img in the render context')
        b, n, _, h, w = ctx.colour.shape
        depth = stacked_ssl_target(ctx.data_samples, 'depth_maps', ctx.colour.device)
        if depth is None:
            if ctx.points is None:
                raise KeyError(
                    'PerspectiveRaySampler: no ssl_targets.depth_maps and no points to compute them from'
                )
            s = self.target_stride
            depth = torch.stack(
                [depth_maps(p, m, (h, w), stride=s) for p, m in zip(ctx.points, ctx.lidar2img)]
            )
        depth = depth.float()
        if h % depth.shape[-2] or w % depth.shape[-1]:
            raise ValueError(f'depth_maps {tuple(depth.shape[-2:])} do not tile images {(h, w)}')
        colour = ctx.colour
        if depth.shape[-2:] != (h, w):
            colour = F.adaptive_avg_pool2d(colour.flatten(0, 1), depth.shape[-2:]).view(
                b, n, 3, *depth.shape[-2:]
            )
        return depth, colour

    def _bundle(self, ctx: RenderContext, depth: Tensor, colour: Tensor, picks: Sequence) -> RayBundle:
        """Rays of the picked flat cells ``picks[i][c]`` of every sample ``i`` and camera ``c``."""
        b, n, h, w = depth.shape
        img_h, img_w = ctx.colour.shape[-2:]
        scale = depth.new_tensor([img_w / w, img_h / h])
        origins, dirs, t_depth, t_rgb = [], [], [], []
        for i in range(b):
            for c in range(n):
                idx = picks[i][c]
                uv = torch.stack(
                    [(idx % w).float() + 0.5, torch.div(idx, w, rounding_mode='floor').float() + 0.5], -1
                )
                o, d = perspective_rays(ctx.lidar2img[i, c], uv * scale)
                origins.append(o)
                dirs.append(d)
                t_depth.append(depth[i, c].flatten()[idx])
                t_rgb.append(colour[i, c].flatten(1)[:, idx].t())
        r = n * len(picks[0][0])
        d = torch.cat(t_depth).view(b, r)
        return RayBundle(
            origins=torch.cat(origins).view(b, r, 3),
            directions=torch.cat(dirs).view(b, r, 3),
            targets=dict(depth=d, valid=d > 0, rgb=torch.cat(t_rgb).view(b, r, 3)),
        )

    def forward(self, ctx: RenderContext, generator: torch.Generator | None = None) -> RayBundle:
        """Training rays ``(B, N (num_random + num_depth), 3)`` with their targets."""
        depth, colour = self.target_maps(ctx)
        b, n, h, w = depth.shape
        picks = [
            [
                sample_pixel_indices(
                    h * w, self.num_random, depth[i, c].flatten() > 0, self.num_depth, generator
                )
                for c in range(n)
            ]
            for i in range(b)
        ]
        return self._bundle(ctx, depth, colour, picks)

    def dense(self, ctx: RenderContext, stride: int = 4, cams: Sequence[int] | None = None) -> RayBundle:
        """Rays of every ``stride``-th target cell of sample 0's cameras ``cams`` (all by default);
        ``grid = (len(cams), h', w')``."""
        one = ctx.first()
        depth, colour = self.target_maps(one)
        n, h, w = depth.shape[1:]
        cams = list(range(n)) if cams is None else list(cams)
        rows = torch.arange(0, h, stride, device=depth.device)
        cols = torch.arange(0, w, stride, device=depth.device)
        idx = (rows.view(-1, 1) * w + cols.view(1, -1)).flatten()
        sub = RenderContext(one.data_samples, one.points, one.colour[:, cams], one.lidar2img[:, cams])
        bundle = self._bundle(sub, depth[:, cams], colour[:, cams], [[idx] * len(cams)])
        bundle.grid = (len(cams), len(rows), len(cols))
        return bundle
