"""BEV rays looking straight down with LiDAR top-surface depth targets (NS-MAE Sec. 3.3)."""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import Tensor, nn

from mmssl.geometry import bev_depth_height
from mmssl.models.utils.ssl_targets import stacked_ssl_target
from mmssl.ops.rays import bev_rays, sample_pixel_indices
from mmssl.registry import MODELS

from .bundle import RayBundle, RenderContext


@MODELS.register_module()
class BEVRaySampler(nn.Module):
    """Vertical rays from the top of the target range, one per sampled BEV cell.

    Target ``depth`` = metres from ``target_range``'s z max down to the highest LiDAR point of
    the cell (``ssl_targets.bev_depth`` / ``bev_occupied`` of the pipeline when present, else
    computed from all points); ``valid`` = the cell holds a point and its ray starts inside the
    render volume ``point_cloud_range``. Per sample, ``num_random`` cells are drawn uniformly and
    ``num_depth`` among occupied cells.

    Args:
        point_cloud_range: extent of the render volume (rays outside it are not supervised).
        num_random: uniform rays per sample and iteration.
        num_depth: rays per sample among occupied cells.
        cell_size: ``(dx, dy)`` of the target grid when computed here.
        target_range: x-y-z extent of the target grid (default: ``point_cloud_range``).
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        num_random: int = 1024,
        num_depth: int = 1024,
        cell_size: Sequence[float] = (0.6, 0.6),
        target_range: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.num_random = int(num_random)
        self.num_depth = int(num_depth)
        self.cell_size = tuple(float(v) for v in cell_size)
        self.target_range = [float(v) for v in (target_range or point_cloud_range)]

    def target_maps(self, ctx: RenderContext) -> Tuple[Tensor, Tensor]:
        """BEV depth ``(B, Y, X)`` (metres below the target range's top) and occupancy."""
        device = ctx.points[0].device if ctx.points is not None else torch.device('cpu')
        depth = stacked_ssl_target(ctx.data_samples, 'bev_depth', device)
        if depth is not None:
            occ = stacked_ssl_target(ctx.data_samples, 'bev_occupied', device)
            return depth.float(), (occ.bool() if occ is not None else depth > 0)
        if ctx.points is None:
            raise KeyError('BEVRaySampler: no ssl_targets.bev_depth and no points to compute it from')
        out = [bev_depth_height(p, self.target_range, self.cell_size) for p in ctx.points]
        return torch.stack([o[0] for o in out]).float(), torch.stack([o[2] for o in out])

    def _bundle(self, depth: Tensor, valid: Tensor, picks: Sequence[Tensor]) -> RayBundle:
        ny, nx = depth.shape[-2:]
        pcr = self.point_cloud_range
        origins, dirs, t_depth, t_valid = [], [], [], []
        for i, idx in enumerate(picks):
            o, d = bev_rays(self.target_range, (ny, nx), idx.cpu())
            o, d = o.to(depth.device), d.to(depth.device)
            inside = (o[:, 0] > pcr[0]) & (o[:, 0] < pcr[3]) & (o[:, 1] > pcr[1]) & (o[:, 1] < pcr[4])
            origins.append(o)
            dirs.append(d)
            t_depth.append(depth[i].flatten()[idx])
            t_valid.append(valid[i].flatten()[idx] & inside)
        return RayBundle(
            origins=torch.stack(origins),
            directions=torch.stack(dirs),
            targets=dict(depth=torch.stack(t_depth), valid=torch.stack(t_valid)),
        )

    def forward(self, ctx: RenderContext, generator: torch.Generator | None = None) -> RayBundle:
        """Training rays ``(B, num_random + num_depth, 3)`` with ``depth``/``valid`` targets."""
        depth, valid = self.target_maps(ctx)
        ny, nx = depth.shape[-2:]
        picks = [
            sample_pixel_indices(ny * nx, self.num_random, valid[i].flatten(), self.num_depth, generator)
            for i in range(depth.shape[0])
        ]
        return self._bundle(depth, valid, picks)

    def dense(self, ctx: RenderContext, stride: int = 1, cams: Sequence[int] | None = None) -> RayBundle:
        """One ray per target cell of sample 0 (``stride`` and ``cams`` unused); ``grid = (1, Y, X)``."""
        depth, valid = self.target_maps(ctx.first())
        ny, nx = depth.shape[-2:]
        bundle = self._bundle(depth, valid, [torch.arange(ny * nx, device=depth.device)])
        bundle.grid = (1, ny, nx)
        return bundle
