"""UniPAD: masked multi-modal pre-training by SDF volume rendering.

Yang et al., "UniPAD: A Universal Pre-training Paradigm for Autonomous Driving", CVPR 2024.
What the official code does is in METHOD_FACTS 2; the components are shared with NS-MAE
(encoders, maskers, the render context, :class:`~mmssl.models.renderers.VolumeRenderer` and its
compositing ``T_i = prod (1 - alpha_j)``) and differ where the papers differ:

* Masking (Sec. 3.2): SparK-style camera masking (32 px patches, ratio 0.3, zero fill, the mask
  re-applied at the output of the backbone stages listed in ``camera_mask_stages``:
  :func:`~mmssl.models.maskers.keep_masked`); LiDAR block masking (80% of the non-empty blocks of
  8 x 8 x 8 encoder voxels: a :class:`~mmssl.models.maskers.VoxelMasker` on the block size).
* Embedding (Sec. 3.2): the detector's encoders; the camera volume (view transform) and the LiDAR
  volume (sparse encoder) on one grid, **added** after a 1x1x1 projection of each to
  ``embed_channels`` (official: both are 256 wide and added), or concatenated (``fuse='concat'``).
* Rendering (Sec. 3.3): :class:`~mmssl.models.heads.SDFRenderField` (3D conv projection, SDF MLP
  with Softplus(100), colour MLP on the SDF gradient), NeuS opacity with learnable
  ``inv_s = exp(10 v)`` (:class:`~mmssl.models.renderers.NeuSDensity`), rays through LiDAR-hit
  pixels (:class:`~mmssl.models.ray_samplers.DepthAwareRaySampler`, 512 per camera) with near/far
  from the volume box and 72 stratified + 24 NeuS up-sampled samples
  (:class:`~mmssl.models.renderers.NeuSImportanceSampler`).
* Losses (Sec. 3.4; official weights): ``10 L1(rgb) + 10 L1(depth)`` with depth in normalised
  units (``scene_scale`` times metres) against the **Euclidean range** to the LiDAR point
  (``depth_target='range'``; NS-MAE's camera-z is ``'camera_z'``); optional eikonal and
  free-space terms (off, as upstream). The colour target is the unmasked image in [0, 1].

Beyond the official code, one model pre-trains camera and LiDAR encoders together (UniPAD's
fusion weights are two separate pre-trainings merged; ``tools/merge_checkpoints.py`` reproduces
that recipe). The LiDAR-only official configs are depth-only (``loss_rgb=None``).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Dict, List, Sequence

import torch
from torch import Tensor, nn

from mmssl.models.maskers import keep_masked
from mmssl.models.ray_samplers import RenderContext
from mmssl.models.renderers import FieldFn, NeuSDensity
from mmssl.registry import MODELS

from .multimodal import MultiModalSelfSupervisor
from .rendering import NeuralRenderingMixin, RenderView


@MODELS.register_module()
class UniPAD(NeuralRenderingMixin, MultiModalSelfSupervisor):
    """UniPAD pre-training of camera and/or LiDAR encoders.

    Args:
        render_head: config of the SDF field (``SDFRenderField``); its ``in_channels`` must be
            ``embed_channels`` (``fuse='add'``) or ``C_I + C_L`` (``'concat'``).
        renderer: ``VolumeRenderer`` config (NeuS density, NeuS importance sampler,
            ``normalize_depth=True`` as the official depth ``sum w t / sum w``).
        ray_sampler: perspective ray sampler (default ``DepthAwareRaySampler()``).
        loss_rgb, loss_depth: ``MaskedLpLoss`` configs (official L1, weights 10 and 10); None = off.
        loss_eikonal: optional ``EikonalLoss`` config.
        loss_free_space: optional ``FreeSpaceLoss`` config.
        camera_channels: ``C_I`` of the camera volume (needed with a camera branch and
            ``fuse='add'``).
        lidar_channels: ``C_L`` of the sparse encoder's dense output (its BEV is unflattened to
            ``(B, C_L, Z_L, Y, X)``).
        embed_channels: common width of the added volumes.
        fuse: ``'add'`` (UniPAD) or ``'concat'``.
        point_cloud_range: extent of the render volume.
        render_z_bins: z levels of the fused volume.
        depth_target: ``'range'`` (Euclidean distance from the camera, UniPAD) or ``'camera_z'``.
        scene_scale: metres -> the normalised units of the depth loss (official 1/54).
        camera_mask_stages: backbone submodules whose output is re-masked (SparK emulation).
        **kwargs: encoders, maskers and slots of :class:`MultiModalSelfSupervisor`.
    """

    def __init__(
        self,
        render_head: dict,
        renderer: dict,
        ray_sampler: dict | None = None,
        loss_rgb: dict | None = None,
        loss_depth: dict | None = None,
        loss_eikonal: dict | None = None,
        loss_free_space: dict | None = None,
        camera_channels: int | None = None,
        lidar_channels: int = 128,
        embed_channels: int = 32,
        fuse: str = 'add',
        point_cloud_range: Sequence[float] = (-54.0, -54.0, -5.0, 54.0, 54.0, 3.0),
        render_z_bins: int = 5,
        depth_target: str = 'range',
        scene_scale: float = 1 / 54,
        camera_mask_stages: Sequence[str] = (),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if fuse not in ('add', 'concat'):
            raise ValueError(f"UniPAD: fuse must be 'add' or 'concat', got {fuse!r}")
        if depth_target not in ('range', 'camera_z'):
            raise ValueError(f"UniPAD: depth_target must be 'range' or 'camera_z', got {depth_target!r}")
        self.fuse, self.depth_target = fuse, depth_target
        self.lidar_channels = int(lidar_channels)
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.render_z_bins = int(render_z_bins)
        self.scene_scale = float(scene_scale)
        self.camera_mask_stages = tuple(camera_mask_stages)
        self.split = []  # channels of the camera and LiDAR parts of the concatenated volume
        if self.with_camera:
            if camera_channels is None:
                raise ValueError(
                    'UniPAD with a camera branch needs camera_channels (C_I of the view transform)'
                )
            self.split.append(int(camera_channels))
        if self.with_lidar:
            self.split.append(self.lidar_channels)
        # fuse='add': a 1x1x1 projection of each part to embed_channels (camera first)
        self.fuse_proj = (
            nn.ModuleList(nn.Conv3d(c, embed_channels, 1) for c in self.split) if fuse == 'add' else None
        )
        self.render_head = MODELS.build(render_head)
        self.renderer = MODELS.build(renderer)
        self.ray_sampler = MODELS.build(ray_sampler or dict(type='DepthAwareRaySampler'))
        build = lambda cfg: MODELS.build(cfg) if cfg is not None else None  # noqa: E731
        self.loss_rgb, self.loss_depth = build(loss_rgb), build(loss_depth)
        self.loss_eikonal, self.loss_free_space = build(loss_eikonal), build(loss_free_space)
        if self.loss_rgb is None and self.loss_depth is None:
            raise ValueError('UniPAD: set loss_rgb and/or loss_depth')

    # ------------------------------------------------------------------ embedding
    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor:
        """Fused volume ``(B, C, Z_r, Y, X)`` of (already masked) inputs; with a patch mask the
        backbone stages of ``camera_mask_stages`` are re-masked."""
        mask = inputs.get('img_patch_mask')
        ctx = (
            keep_masked(self.img_backbone, self.camera_mask_stages, mask)
            if self.with_camera and mask is not None and self.camera_mask_stages
            else nullcontext()
        )
        with ctx:
            vol = self.encoder_volume(
                inputs, data_samples, self.point_cloud_range, self.render_z_bins, self.lidar_channels
            )
        if self.fuse == 'concat':
            return vol
        if vol.shape[1] != sum(self.split):
            raise ValueError(f'UniPAD: the encoder volume has {vol.shape[1]} channels, expected {self.split}')
        parts = torch.split(vol, self.split, dim=1)
        return torch.stack([proj(p) for proj, p in zip(self.fuse_proj, parts)]).sum(0)

    def field_of(self, inputs: dict, data_samples: Sequence) -> FieldFn:
        return self.render_head.field(self.render_head.build_fields(self.extract_feat(inputs, data_samples)))

    def render_views(self, ctx: RenderContext) -> Dict[str, RenderView]:
        return {'per': RenderView(self.ray_sampler, self.renderer, self.loss_rgb is not None)}

    # ------------------------------------------------------------------ losses
    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """Mask, embed, render the perspective rays and compare colour and depth."""
        masked = self.mask_inputs(inputs, data_samples)
        if self.with_lidar and not masked.lidar_masked:
            raise ValueError('UniPAD: LiDAR is not masked: set lidar_masker (block masking)')
        ctx = self.render_context(inputs, data_samples, masked)
        if ctx.colour is None:
            raise KeyError('UniPAD renders perspective rays: the pipeline must load the camera images')
        field = self.field_of(masked.inputs, data_samples)
        rays = self.ray_sampler(ctx)
        with_color = self.loss_rgb is not None
        out = self.renderer(field, rays.origins, rays.directions, with_color=with_color)
        t = rays.targets
        losses: Dict[str, Tensor] = {}
        if with_color:
            losses.update(self.loss_terms('rgb', self.loss_rgb, out['rgb'], t['rgb'], None, 'rgb_l1'))
        # t is camera-z along the ray; the Euclidean range of a parameter is t |d|
        norm = rays.directions.norm(dim=-1)
        scale = norm if self.depth_target == 'range' else torch.ones_like(norm)
        pred_m, target_m = out['depth'] * scale, t['depth'] * scale
        if self.loss_depth is not None:
            s = self.scene_scale
            losses.update(
                self.loss_terms(
                    'depth', self.loss_depth, pred_m * s, target_m * s, t['valid'], 'depth_l1_norm'
                )
            )
            losses['depth_abs_err_m'] = (
                ((pred_m - target_m).abs() * t['valid']).sum() / t['valid'].sum().clamp(min=1)
            ).detach()
        if self.loss_eikonal is not None:
            grad = self.require_input(
                out, 'sdf_grad', 'the eikonal term needs the SDF gradient (autograd on)'
            )
            losses['loss_eikonal'] = self.loss_eikonal(grad)
        if self.loss_free_space is not None:
            losses['loss_free_space'] = self.loss_free_space(
                out['sdf'], out['t_vals'] * norm.unsqueeze(-1), t['depth'] * norm, t['valid']
            )
        if isinstance(self.renderer.density, NeuSDensity):
            losses['inv_s'] = self.renderer.density.inv_s.detach()
        return losses
