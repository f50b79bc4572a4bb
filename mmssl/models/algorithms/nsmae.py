"""NS-MAE: unified masked multi-modal pre-training with neural rendering.

Xu et al., "Learning Shared RGB-D Fields: Unified Self-supervised Pre-training for
Label-efficient LiDAR-Camera 3D Perception".

* Masking (Sec. 3.2): 50% of ``s x s`` image patches become a learnable [MASK] token
  (independently per camera); 90% of the non-empty LiDAR voxels are removed. Image and
  LiDAR masks are independent. Masks come from the pipeline (``img_patch_mask``,
  ``masked_points``) or are drawn here (``img_mask`` / ``lidar_mask`` configs).
* Embedding (Sec. 3.2): the downstream detector's own encoders. Camera: backbone + neck ->
  LSS depth distribution lifted into a world voxel volume ``(C_I, Z, Y, X)`` (the view
  transform's weights, pooled at the render grid's z resolution, its BEV downsampling
  block applied per z slice); LiDAR: voxel encoder + sparse encoder -> ``(C_L, Z_L, Y, X)``.
  The volumes are resampled to a common grid and concatenated.
* Rendering (Sec. 3.3, eqs. 2-4): :class:`ConditionalRenderField` ``f(x, w, e)`` and the
  shared :class:`VolumeRenderer`; perspective rays through sub-sampled camera pixels
  (colour + camera-z depth), BEV rays looking down (depth below the volume top).
* Losses (eqs. 5-7): ``lambda_rgb MSE(rgb) + lambda_per L1(depth) + lambda_bev L1(BEV
  depth)``; depth terms only where a LiDAR target exists. Colour target: the UNMASKED
  image with the preprocessor's normalisation undone, in [0, 1].

Targets: ``ssl_targets.depth_maps`` / ``bev_depth`` if the pipeline provides them, else
computed here from all points (visible + ``masked_points``) with the pipeline's functions.

Official-code behaviours available as options, never defaults (METHOD_FACTS 1): one shared
image mask (``img_mask.shared=True``); depth losses off (set both depth ``loss_weight`` to
1e-8, what ``early_stop_all_depth`` does). Not offered: the misaligned colour/density split.
Deviations: view-conditioned colour MLP (paper) instead of the official 1x1 conv; rays are
sub-sampled (``num_rays``) instead of rendering every feature pixel.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssl.models.backbones import multiview_image_features
from mmssl.models.necks import camera_matrices_from_metas
from mmssl.models.renderers import render_in_chunks
from mmssl.ops import bev_pool, points_to_voxel_coords
from mmssl.ops.rays import (
    bev_rays,
    perspective_rays,
)
from mmssl.registry import MODELS

from .base import BaseSelfSupervisor
from .masking import MaskTokenImageMasker, VoxelPointMasker
from .nsmae_targets import NSMAETargetsMixin

_DEFAULT_RAYS = dict(per_random=512, per_depth=256, bev_random=1024, bev_depth=1024, rand=256)


@MODELS.register_module()
class NSMAE(NSMAETargetsMixin, BaseSelfSupervisor):
    """NS-MAE pre-training of camera and/or LiDAR encoders.

    Args:
        data_preprocessor: e.g. ``TorchVoxelDataPreprocessor`` with ``voxel=True`` (LiDAR).
        img_backbone, img_neck, view_transform: camera encoder (as in the detector).
        pts_voxel_encoder, pts_middle_encoder: LiDAR encoder (as in the detector).
        lidar_channels: ``C_L`` of the sparse encoder's dense output (its
            ``(B, C_L * Z_L, Y, X)`` BEV is unflattened to ``(B, C_L, Z_L, Y, X)``).
        point_cloud_range: extent of the render volume (xmin, ymin, zmin, xmax, ymax, zmax).
        render_z_bins: z levels of the lifted camera volume and of the fused volume.
        render_head: config of the rendering network (``ConditionalRenderField``); its
            ``in_channels`` must equal ``C_I + C_L``.
        per_renderer, bev_renderer: ``VolumeRenderer`` configs (paper steps 0.8 and 0.2).
        loss_rgb, loss_depth_per, loss_depth_bev: ``MaskedLpLoss`` configs (None = off).
        img_mask, lidar_mask: model-side masking configs (``MaskTokenImageMasker`` /
            ``VoxelPointMasker`` arguments); ``img_mask`` also defines the token, so it is
            required with images (its ``patch_size`` must match a pipeline mask).
        target_stride: stride of the perspective target grid when targets are computed here.
        bev_cell_size: (dx, dy) of the BEV depth target when computed here.
        bev_target_range: x-y-z extent of the BEV depth target grid (default: the render
            volume's); rays of target cells outside the volume are not supervised. The BEV
            depth is measured below the target range's z max.
        num_rays: ``per_random``/``per_depth`` rays per camera, ``bev_random``/``bev_depth``
            rays per sample, per iteration.
        num_rand_views: random virtual cameras per sample whose LiDAR depth is rendered too
            (the paper's D^Rand viewpoint ablation; 0 = off, the default). Their term
            ``loss_depth_rand`` uses ``loss_depth_per``; ``num_rays['rand']`` rays per view.
        rand_view_size: (h, w) of the virtual images (70 degree horizontal field of view).
        img_feature_level: FPN level fed to the view transform.
        init_cfg: MMEngine init config.
    """

    def __init__(
        self,
        data_preprocessor: dict | None = None,
        img_backbone: dict | None = None,
        img_neck: dict | None = None,
        view_transform: dict | None = None,
        pts_voxel_encoder: dict | None = None,
        pts_middle_encoder: dict | None = None,
        lidar_channels: int = 128,
        point_cloud_range: Tuple[float, ...] = (-54.0, -54.0, -5.0, 54.0, 54.0, 3.0),
        render_z_bins: int = 8,
        render_head: dict | None = None,
        per_renderer: dict | None = None,
        bev_renderer: dict | None = None,
        loss_rgb: dict | None = None,
        loss_depth_per: dict | None = None,
        loss_depth_bev: dict | None = None,
        img_mask: dict | None = None,
        lidar_mask: dict | None = None,
        target_stride: int = 1,
        bev_cell_size: Tuple[float, float] = (0.6, 0.6),
        bev_target_range: Tuple[float, ...] | None = None,
        num_rays: dict | None = None,
        num_rand_views: int = 0,
        rand_view_size: tuple[int, int] = (32, 88),
        img_feature_level: int = 0,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.with_camera = img_backbone is not None
        self.with_lidar = pts_middle_encoder is not None
        if not (self.with_camera or self.with_lidar):
            raise ValueError('NSMAE needs a camera (img_backbone) and/or LiDAR (pts_middle_encoder) encoder')
        if self.with_camera:
            if view_transform is None or img_mask is None:
                raise ValueError('NSMAE camera branch needs view_transform and img_mask')
            self.img_backbone = MODELS.build(img_backbone)
            self.img_neck = MODELS.build(img_neck) if img_neck is not None else None
            self.view_transform = MODELS.build(view_transform)
            self.img_masker = MaskTokenImageMasker(**img_mask)
        if self.with_lidar:
            self.pts_voxel_encoder = MODELS.build(pts_voxel_encoder)
            self.pts_middle_encoder = MODELS.build(pts_middle_encoder)
        self.lidar_masker = VoxelPointMasker(**lidar_mask) if lidar_mask is not None else None
        self.lidar_channels = lidar_channels
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.render_z_bins = int(render_z_bins)
        self.render_head = MODELS.build(render_head)
        self.per_renderer = MODELS.build(per_renderer) if per_renderer is not None else None
        self.bev_renderer = MODELS.build(bev_renderer) if bev_renderer is not None else None
        self.loss_rgb = MODELS.build(loss_rgb) if loss_rgb is not None else None
        self.loss_depth_per = MODELS.build(loss_depth_per) if loss_depth_per is not None else None
        self.loss_depth_bev = MODELS.build(loss_depth_bev) if loss_depth_bev is not None else None
        self.target_stride = int(target_stride)
        self.bev_cell_size = tuple(float(v) for v in bev_cell_size)
        self.bev_target_range = [float(v) for v in (bev_target_range or point_cloud_range)]
        self.num_rays = dict(_DEFAULT_RAYS, **(num_rays or {}))
        self.num_rand_views = int(num_rand_views)
        self.rand_view_size = tuple(int(v) for v in rand_view_size)
        self.img_feature_level = img_feature_level

    # ------------------------------------------------------------------ masking
    def mask_inputs(self, inputs: dict, data_samples: List) -> Tuple[dict, List[Tensor]]:
        """Apply image and LiDAR masks.

        Returns:
            ``masked`` inputs (``imgs`` with tokens, ``points``/``voxels`` of visible points)
            and the per-sample masked points ``(K_i, C)`` (empty when no LiDAR).
        """
        out = dict(inputs)
        points = inputs.get('points')
        masked_pts: List[Tensor] = []
        if points is not None:
            from_pipe = self.get_ssl_target(data_samples, 'masked_points', required=False)
            have = [m is not None for m in from_pipe]
            if all(have):
                if self.lidar_masker is not None:
                    raise ValueError(
                        'LiDAR masked twice: the pipeline provides masked_points '
                        'and NSMAE has lidar_mask; drop one'
                    )
                masked_pts = [
                    torch.as_tensor(m, device=points[0].device).to(points[0].dtype) for m in from_pipe
                ]
            elif self.lidar_masker is not None:
                visible, masked_pts = self.lidar_masker.mask_batch(points)
                out['points'] = visible
                if self.with_lidar:
                    out['voxels'] = self.data_preprocessor.voxelize(visible, data_samples)
            elif self.with_lidar:
                raise ValueError(
                    'LiDAR is not masked: add the pipeline masking transform '
                    '(masked_points) or set NSMAE lidar_mask'
                )
            else:
                masked_pts = [p[:0] for p in points]
        if self.with_camera:
            imgs = inputs['imgs']
            b, n, _, h, w = imgs.shape
            pipe = self.get_ssl_target(data_samples, 'img_patch_mask', required=False)
            if all(m is not None for m in pipe):
                mask = torch.stack([torch.as_tensor(m, device=imgs.device) for m in pipe]).bool()
            else:
                mask = self.img_masker.generate(b, n, (h, w)).to(imgs.device)
            out['img_patch_mask'] = mask
            out['imgs'] = self.img_masker(imgs, mask)
        return out, masked_pts

    # ------------------------------------------------------------------ embedding
    def camera_volume(self, imgs: Tensor, data_samples: List, points: List[Tensor] | None) -> Tensor:
        """Camera embedding volume ``(B, C_I, Z_r, Y, X)`` via LSS at the render z grid."""
        vt = self.view_transform
        feats = multiview_image_features(imgs, self.img_backbone, self.img_neck, self.img_feature_level)
        mats = camera_matrices_from_metas([s.metainfo for s in data_samples], imgs.shape[1], imgs.device)
        depth_img = vt.project_depth(points, mats) if vt.depth_input else None
        _, lifted = vt.get_cam_feats(feats, depth_img)  # (B, N, D, fH, fW, C)
        geom = vt.get_geometry(mats)
        pcr = self.point_cloud_range
        dz = (pcr[5] - pcr[2]) / self.render_z_bins
        shape = (vt.grid_shape[0], vt.grid_shape[1], self.render_z_bins)
        lower = (vt.grid_lower[0], vt.grid_lower[1], pcr[2])
        coords, inside = points_to_voxel_coords(geom, lower, (*vt.voxel_size[:2], dz), shape)
        b = imgs.shape[0]
        bidx = torch.arange(b, device=geom.device).view(b, 1, 1, 1, 1).expand(inside.shape)
        keep = inside.reshape(-1)
        coords = torch.cat([bidx.reshape(-1, 1), coords.reshape(-1, 3)], 1)[keep]
        vol = bev_pool(
            lifted.reshape(-1, vt.out_channels)[keep], coords, b, shape, reduce=vt.reduce
        )  # (B, C, Z, Y, X)
        if vt.grid_shape[2] != 1 and not isinstance(vt.downsample, torch.nn.Identity):
            raise ValueError(
                'NSMAE applies the view transform downsample per z slice; it '
                f'needs the detector zbound to have 1 bin, got {vt.grid_shape[2]}'
            )
        c, z = vol.shape[1:3]
        slices = vt.downsample(vol.permute(0, 2, 1, 3, 4).flatten(0, 1))  # (B Z, C, Y', X')
        return slices.view(b, z, c, *slices.shape[-2:]).permute(0, 2, 1, 3, 4)

    def lidar_volume(self, voxels: dict, batch_size: int) -> Tensor:
        """LiDAR embedding volume ``(B, C_L, Z_L, Y, X)`` from the sparse encoder."""
        feats = self.pts_voxel_encoder(voxels['voxels'], voxels['num_points'], voxels['coors'])
        bev = self.pts_middle_encoder(feats, voxels['coors'], batch_size)
        if isinstance(bev, (list, tuple)):
            bev = bev[0]
        if bev.shape[1] % self.lidar_channels:
            raise ValueError(
                f'LiDAR BEV has {bev.shape[1]} channels, not a multiple of '
                f'lidar_channels={self.lidar_channels}'
            )
        return bev.view(bev.shape[0], self.lidar_channels, -1, *bev.shape[-2:])

    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor:
        """Fused embedding volume ``(B, C_I + C_L, Z_r, Y, X)`` of (already masked) inputs."""
        vols = []
        b = len(data_samples)
        if self.with_camera:
            vols.append(self.camera_volume(inputs['imgs'], data_samples, inputs.get('points')))
        if self.with_lidar:
            if 'voxels' not in inputs:
                raise KeyError(
                    "NSMAE LiDAR branch: inputs have no 'voxels'; use a data preprocessor with voxel=True"
                )
            vols.append(self.lidar_volume(inputs['voxels'], b))
        size = (self.render_z_bins, *vols[-1].shape[-2:])
        vols = [
            v
            if tuple(v.shape[2:]) == size
            else F.interpolate(v, size=size, mode='trilinear', align_corners=False)
            for v in vols
        ]
        return torch.cat(vols, dim=1)

    # ------------------------------------------------------------------ targets
    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """Mask, embed, render and compare (eqs. 5-7)."""
        masked, masked_pts = self.mask_inputs(inputs, data_samples)
        volume = self.extract_feat(masked, data_samples)
        fields = self.render_head.build_fields(volume)
        field_fn = self.render_head.field(fields)
        points = inputs.get('points')
        all_points = (
            [torch.cat([p[:, :3], m[:, :3].to(p)]) for p, m in zip(points, masked_pts)]
            if points is not None
            else None
        )
        losses: Dict[str, Tensor] = {}
        if self.per_renderer is not None and 'imgs' in inputs:
            depth, colour, lidar2img = self.perspective_targets(inputs, data_samples, all_points)
            rays = self._per_rays(depth, colour, lidar2img, inputs['imgs'].shape[-2:])
            out = self.per_renderer(
                field_fn, rays['origins'], rays['dirs'], with_color=self.loss_rgb is not None
            )
            if self.loss_rgb is not None:
                losses['loss_rgb'] = self.loss_rgb(out['rgb'], rays['rgb'])
                losses['rgb_mse'] = self.loss_rgb.unweighted(out['rgb'], rays['rgb']).detach()
            if self.loss_depth_per is not None:
                valid = rays['depth'] > 0
                losses['loss_depth_per'] = self.loss_depth_per(out['depth'], rays['depth'], valid)
                losses['depth_per_l1'] = self.loss_depth_per.unweighted(
                    out['depth'], rays['depth'], valid
                ).detach()
        if self.num_rand_views and self.per_renderer is not None and all_points is not None:
            rays = self._rand_rays(all_points)
            out = self.per_renderer(field_fn, rays['origins'], rays['dirs'], with_color=False)
            valid = rays['depth'] > 0
            losses['loss_depth_rand'] = self.loss_depth_per(out['depth'], rays['depth'], valid)
            losses['depth_rand_l1'] = self.loss_depth_per.unweighted(
                out['depth'], rays['depth'], valid
            ).detach()
        if self.bev_renderer is not None and self.loss_depth_bev is not None:
            if all_points is None:
                raise KeyError("NSMAE BEV rendering: inputs have no 'points' for BEV targets")
            depth, valid = self.bev_targets(data_samples, all_points)
            rays = self._bev_rays(depth.to(volume.device), valid.to(volume.device))
            out = self.bev_renderer(field_fn, rays['origins'], rays['dirs'], with_color=False)
            losses['loss_depth_bev'] = self.loss_depth_bev(out['depth'], rays['depth'], rays['valid'])
            losses['depth_bev_l1'] = self.loss_depth_bev.unweighted(
                out['depth'], rays['depth'], rays['valid']
            ).detach()
        if not any('loss' in k for k in losses):
            raise ValueError('NSMAE: no loss term is active; configure a renderer and its loss')
        return losses

    # ------------------------------------------------------------------ visualisation
    @torch.no_grad()
    def render_maps(
        self,
        inputs: dict,
        data_samples: List,
        stride: int = 4,
        cams: List[int] | None = None,
        chunk: int = 8192,
    ) -> Dict[str, Tensor]:
        """Dense renderings of the first sample beside their targets (for visual feedback).

        Args:
            inputs, data_samples: preprocessed batch (as for :meth:`loss`).
            stride: perspective maps are rendered every ``stride`` target pixels.
            cams: camera indices to render (default all).
            chunk: rays per renderer call.

        Returns:
            CPU tensors: ``per_depth``/``per_depth_target`` (N, h, w) metres,
            ``per_rgb``/``per_rgb_target``/``per_input`` (N, 3, h, w) in [0, 1] (the input
            with its masked patches), ``bev_depth``/``bev_depth_target`` (Y, X) metres; the
            keys of a view that is not rendered are absent.
        """
        masked, masked_pts = self.mask_inputs(inputs, data_samples)
        ds = data_samples[:1]
        masked = {k: (v[:1] if isinstance(v, (Tensor, list)) else v) for k, v in masked.items()}
        if self.with_lidar:
            masked['voxels'] = self.data_preprocessor.voxelize(masked['points'], ds)
        fields = self.render_head.build_fields(self.extract_feat(masked, ds))
        field_fn = self.render_head.field(fields)
        points = inputs.get('points')
        all_points = (
            [torch.cat([points[0][:, :3], masked_pts[0][:, :3].to(points[0])])]
            if points is not None
            else None
        )
        out: Dict[str, Tensor] = {}
        if self.per_renderer is not None and 'imgs' in inputs:
            one = dict(inputs, imgs=inputs['imgs'][:1])
            depth, colour, lidar2img = self.perspective_targets(one, ds, all_points)
            cams = list(range(depth.shape[1])) if cams is None else cams
            h, w = depth.shape[-2:]
            img_h, img_w = inputs['imgs'].shape[-2:]
            rows = torch.arange(0, h, stride, device=depth.device)
            cols = torch.arange(0, w, stride, device=depth.device)
            uv = torch.stack(
                torch.meshgrid(
                    (cols.float() + 0.5) * img_w / w, (rows.float() + 0.5) * img_h / h, indexing='xy'
                ),
                -1,
            )
            rend_d, rend_c = [], []
            for c in cams:
                o, d = perspective_rays(lidar2img[0, c], uv.reshape(-1, 2))
                r = render_in_chunks(
                    self.per_renderer, field_fn, o[None], d[None], self.loss_rgb is not None, chunk
                )
                rend_d.append(r['depth'].view(len(rows), len(cols)))
                if 'rgb' in r:
                    rend_c.append(r['rgb'].view(len(rows), len(cols), 3).permute(2, 0, 1))
            sub = (slice(None), slice(None, None, stride), slice(None, None, stride))
            out['per_depth'] = torch.stack(rend_d)
            out['per_depth_target'] = torch.stack([depth[0, c][sub[1:]] for c in cams])
            out['per_rgb_target'] = torch.stack([colour[0, c][sub] for c in cams])
            if rend_c:
                out['per_rgb'] = torch.stack(rend_c)
            if self.with_camera:
                vis = self._colour_image(masked['imgs'][:1])[0]
                out['per_input'] = torch.stack([vis[c][sub] for c in cams])
        if self.bev_renderer is not None and all_points is not None:
            depth, _ = self.bev_targets(ds, all_points)
            ny, nx = depth.shape[-2:]
            o, d = bev_rays(self.bev_target_range, (ny, nx))
            dev = fields.device
            r = render_in_chunks(self.bev_renderer, field_fn, o[None].to(dev), d[None].to(dev), False, chunk)
            out['bev_depth'] = r['depth'].view(ny, nx)
            out['bev_depth_target'] = depth[0]
        return {k: v.detach().float().cpu() for k, v in out.items()}

    def predict(self, inputs: dict, data_samples: List) -> List:
        """Attach :meth:`render_maps` of the first sample as ``data_samples[0].rendered``."""
        from mmengine.structures import BaseDataElement

        data_samples[0].rendered = BaseDataElement(**self.render_maps(inputs, data_samples))
        return data_samples
