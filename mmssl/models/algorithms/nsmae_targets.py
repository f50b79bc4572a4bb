"""NS-MAE's rendering targets and ray sampling (a mixin of :class:`~.nsmae.NSMAE`).

Perspective view (Sec. 3.3): colour target = the unmasked image in [0, 1], depth target = the
LiDAR projected into the image (camera z, 0 = none); rays through sub-sampled pixels, half at
random and half where a depth target exists. Bird's-eye view: depth target = metres from the
top of the range down to the highest LiDAR point per cell; rays look straight down. Random
virtual cameras (the paper's D^Rand ablation) render z-buffered LiDAR depth.

The mixin reads these attributes of the model: ``data_preprocessor``, ``target_stride``,
``num_rays``, ``point_cloud_range``, ``bev_target_range``, ``bev_cell_size``,
``num_rand_views``, ``rand_view_size`` and the base class's ``get_ssl_target``.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssl.datasets.transforms.functional import bev_depth_height, depth_maps
from mmssl.models.necks import camera_matrices_from_metas
from mmssl.ops.rays import (
    bev_rays,
    perspective_rays,
    pixel_centers,
    project_points_to_depth,
    random_virtual_cameras,
    sample_pixel_indices,
)


class NSMAETargetsMixin:
    """Targets (perspective/BEV depth, colour) and ray sub-sampling of NS-MAE."""

    def _colour_image(self, imgs: Tensor) -> Tensor:
        """Undo the preprocessor normalisation: (B, N, 3, H, W) in [0, 1]."""
        dp = self.data_preprocessor
        if getattr(dp, '_enable_normalize', False):
            imgs = imgs * dp.std.view(1, 1, 3, 1, 1) + dp.mean.view(1, 1, 3, 1, 1)
        return (imgs / 255.0).clamp(0, 1)

    def perspective_targets(
        self, inputs: dict, data_samples: List, all_points: List[Tensor]
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Depth ``(B, N, h, w)``, colour ``(B, N, 3, h, w)`` and ``lidar2img`` ``(B, N, 4, 4)``
        of the target grid (``h = H / stride``); ``lidar2img`` maps into full-size pixels."""
        imgs = inputs['imgs']
        b, n, _, h, w = imgs.shape
        mats = camera_matrices_from_metas([s.metainfo for s in data_samples], n, imgs.device)
        # The packed lidar2img already maps augmented points to augmented pixels (data contract);
        # cam2img / lidar2cam are updated by the pipeline's augmentations, so re-composing them
        # with img_aug_matrix / lidar_aug_matrix would apply the augmentations twice.
        lidar2img = mats['lidar2img']
        pipe = self.get_ssl_target(data_samples, 'depth_maps', required=False)
        if all(d is not None for d in pipe):
            depth = torch.stack([torch.as_tensor(d, device=imgs.device) for d in pipe]).float()
        else:
            s = self.target_stride
            depth = torch.stack(
                [depth_maps(p, m, (h, w), stride=s) for p, m in zip(all_points, lidar2img)]
            ).float()
        if h % depth.shape[-2] or w % depth.shape[-1]:
            raise ValueError(f'depth_maps {tuple(depth.shape[-2:])} do not tile images {(h, w)}')
        colour = self._colour_image(imgs)
        if depth.shape[-2:] != (h, w):
            colour = F.adaptive_avg_pool2d(colour.flatten(0, 1), depth.shape[-2:]).view(
                b, n, 3, *depth.shape[-2:]
            )
        return depth, colour, lidar2img

    def bev_targets(self, data_samples: List, all_points: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """BEV depth (metres below the volume top) ``(B, Y, X)`` and its valid mask."""
        pipe = self.get_ssl_target(data_samples, 'bev_depth', required=False)
        if all(d is not None for d in pipe):
            depth = torch.stack([torch.as_tensor(d) for d in pipe]).float()
            occ = self.get_ssl_target(data_samples, 'bev_occupied', required=False)
            if all(o is not None for o in occ):
                return depth, torch.stack([torch.as_tensor(o) for o in occ]).bool()
            return depth, depth > 0
        out = [bev_depth_height(p, self.bev_target_range, self.bev_cell_size) for p in all_points]
        return torch.stack([o[0] for o in out]).float(), torch.stack([o[2] for o in out])

    # ------------------------------------------------------------------ rays
    def _per_rays(
        self,
        depth: Tensor,
        colour: Tensor,
        lidar2img: Tensor,
        img_hw: Tuple[int, int],
        generator: torch.Generator | None = None,
    ) -> Dict[str, Tensor]:
        """Sub-sample perspective rays; returns origins/dirs (B, N R, 3) and targets."""
        b, n, h, w = depth.shape
        sy, sx = img_hw[0] / h, img_hw[1] / w
        origins, dirs, t_depth, t_rgb = [], [], [], []
        for i in range(b):
            for c in range(n):
                valid = depth[i, c].flatten() > 0
                idx = sample_pixel_indices(
                    h * w, self.num_rays['per_random'], valid, self.num_rays['per_depth'], generator
                )
                col = (idx % w).float() + 0.5
                row = torch.div(idx, w, rounding_mode='floor').float() + 0.5
                uv = torch.stack([col * sx, row * sy], -1)
                o, d = perspective_rays(lidar2img[i, c], uv)
                origins.append(o)
                dirs.append(d)
                t_depth.append(depth[i, c].flatten()[idx])
                t_rgb.append(colour[i, c].flatten(1)[:, idx].t())
        r = len(t_depth[0])
        return dict(
            origins=torch.stack(origins).view(b, n * r, 3),
            dirs=torch.stack(dirs).view(b, n * r, 3),
            depth=torch.stack(t_depth).view(b, n * r),
            rgb=torch.stack(t_rgb).view(b, n * r, 3),
        )

    def _bev_rays(
        self, depth: Tensor, valid: Tensor, generator: torch.Generator | None = None
    ) -> Dict[str, Tensor]:
        """Sub-sample BEV rays per sample; origins/dirs (B, R, 3), target depth/valid (B, R)."""
        b, ny, nx = depth.shape
        origins, dirs, t_depth, t_valid = [], [], [], []
        for i in range(b):
            idx = sample_pixel_indices(
                ny * nx,
                self.num_rays['bev_random'],
                valid[i].flatten(),
                self.num_rays['bev_depth'],
                generator,
            )
            o, d = bev_rays(self.bev_target_range, (ny, nx), idx.cpu())
            pcr = self.point_cloud_range
            inside = ((o[:, 0] > pcr[0]) & (o[:, 0] < pcr[3]) & (o[:, 1] > pcr[1]) & (o[:, 1] < pcr[4])).to(
                depth.device
            )
            origins.append(o)
            dirs.append(d)
            t_depth.append(depth[i].flatten()[idx])
            t_valid.append(valid[i].flatten()[idx] & inside)
        dev = depth.device
        return dict(
            origins=torch.stack(origins).to(dev),
            dirs=torch.stack(dirs).to(dev),
            depth=torch.stack(t_depth),
            valid=torch.stack(t_valid),
        )

    def _rand_rays(self, all_points: list) -> dict:
        """Rays of random virtual cameras (D^Rand) with their z-buffered LiDAR depth."""
        h, w = self.rand_view_size
        origins, dirs, t_depth = [], [], []
        for pts in all_points:
            mats = random_virtual_cameras(self.num_rand_views, self.point_cloud_range, (h, w))
            mats = mats.to(pts)
            depth = project_points_to_depth(pts, mats, h, w)  # (V, h, w)
            for v in range(self.num_rand_views):
                valid = depth[v].flatten() > 0
                idx = sample_pixel_indices(h * w, 0, valid, self.num_rays['rand'])
                o, d = perspective_rays(mats[v], pixel_centers(idx, w).to(pts))
                origins.append(o)
                dirs.append(d)
                t_depth.append(depth[v].flatten()[idx])
        b = len(all_points)
        return dict(
            origins=torch.stack(origins).view(b, -1, 3),
            dirs=torch.stack(dirs).view(b, -1, 3),
            depth=torch.stack(t_depth).view(b, -1),
        )
