"""NS-MAE: unified masked multi-modal pre-training with neural rendering.

Xu et al., "Learning Shared RGB-D Fields: Unified Self-supervised Pre-training for
Label-efficient LiDAR-Camera 3D Perception".

* Masking (Sec. 3.2): 50% of ``s x s`` image patches become a learnable [MASK] token
  (independently per camera); 90% of the non-empty LiDAR voxels are removed; the two masks are
  independent. The shared base applies them (pipeline masks or the registered maskers).
* Embedding (Sec. 3.2): the downstream detector's own encoders (the shared base). Camera: LSS
  depth distribution lifted into a world volume ``(C_I, Z, Y, X)`` pooled at the render grid's z
  levels, the view transform's BEV downsampling applied per z slice; LiDAR: the sparse encoder's
  ``(C_L, Z_L, Y, X)``; both resampled to a common grid and concatenated.
* Rendering (Sec. 3.3, eqs. 2-4): :class:`ConditionalRenderField` ``f(x, w, e)`` and the shared
  :class:`VolumeRenderer`; rays from the registered samplers: perspective rays through camera
  pixels (colour + camera-z depth), BEV rays looking down (depth below the volume top), and
  optionally random virtual views (the paper's D^Rand ablation, off by default).
* Losses (eqs. 5-7): ``lambda_rgb MSE(rgb) + lambda_per L1(depth) + lambda_bev L1(BEV depth)``;
  depth terms only where a LiDAR target exists. Colour target: the UNMASKED image with the
  preprocessor's normalisation undone, in [0, 1].

Official-code behaviours available as options, never defaults (METHOD_FACTS 1): one shared image
mask (``img_masker.shared=True``); depth losses off (set both depth ``loss_weight`` to 1e-8,
what ``early_stop_all_depth`` does). Not offered: the misaligned colour/density split.
Deviations: view-conditioned colour MLP (paper) instead of the official 1x1 conv; rays are
sub-sampled (the samplers' ``num_random``/``num_depth``) instead of rendering every feature pixel.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

from torch import Tensor

from mmssl.models.ray_samplers import RenderContext
from mmssl.models.renderers import FieldFn
from mmssl.registry import MODELS

from .multimodal import MultiModalSelfSupervisor
from .rendering import NeuralRenderingMixin, RenderView


@MODELS.register_module()
class NSMAE(NeuralRenderingMixin, MultiModalSelfSupervisor):
    """NS-MAE pre-training of camera and/or LiDAR encoders.

    Args:
        render_head: config of the rendering network (``ConditionalRenderField``); its
            ``in_channels`` must equal ``C_I + C_L``.
        per_renderer, bev_renderer: ``VolumeRenderer`` configs (paper steps 0.8 and 0.2).
        per_sampler, bev_sampler: ray samplers of the two views (default
            ``PerspectiveRaySampler()`` / ``BEVRaySampler()``; samplers without a
            ``point_cloud_range`` get the model's).
        rand_sampler: optional ``RandomViewRaySampler`` (D^Rand; rendered with
            ``per_renderer``, its term ``loss_depth_rand`` uses ``loss_depth_per``).
        loss_rgb, loss_depth_per, loss_depth_bev: ``MaskedLpLoss`` configs (None = off).
        lidar_channels: ``C_L`` of the sparse encoder's dense output (its
            ``(B, C_L * Z_L, Y, X)`` BEV is unflattened to ``(B, C_L, Z_L, Y, X)``).
        point_cloud_range: extent of the render volume (xmin, ymin, zmin, xmax, ymax, zmax).
        render_z_bins: z levels of the lifted camera volume and of the fused volume.
        **kwargs: encoders, maskers and slots of :class:`MultiModalSelfSupervisor`; with images
            an ``img_masker`` is required (it holds the [MASK] token).
    """

    def __init__(
        self,
        render_head: dict,
        per_renderer: dict | None = None,
        bev_renderer: dict | None = None,
        per_sampler: dict | None = None,
        bev_sampler: dict | None = None,
        rand_sampler: dict | None = None,
        loss_rgb: dict | None = None,
        loss_depth_per: dict | None = None,
        loss_depth_bev: dict | None = None,
        lidar_channels: int = 128,
        point_cloud_range: Sequence[float] = (-54.0, -54.0, -5.0, 54.0, 54.0, 3.0),
        render_z_bins: int = 8,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if self.with_camera and self.img_masker is None:
            raise ValueError('NSMAE camera branch needs an img_masker (it holds the [MASK] token)')
        self.lidar_channels = int(lidar_channels)
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.render_z_bins = int(render_z_bins)
        self.render_head = MODELS.build(render_head)
        build = lambda cfg: MODELS.build(cfg) if cfg is not None else None  # noqa: E731
        self.per_renderer, self.bev_renderer = build(per_renderer), build(bev_renderer)
        self.per_sampler = build(per_sampler or dict(type='PerspectiveRaySampler'))
        pcr = dict(point_cloud_range=self.point_cloud_range)
        self.bev_sampler = MODELS.build(bev_sampler or dict(type='BEVRaySampler'), default_args=pcr)
        self.rand_sampler = MODELS.build(rand_sampler, default_args=pcr) if rand_sampler is not None else None
        self.loss_rgb, self.loss_depth_per = build(loss_rgb), build(loss_depth_per)
        self.loss_depth_bev = build(loss_depth_bev)

    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor:
        """Fused embedding volume ``(B, C_I + C_L, Z_r, Y, X)`` of (already masked) inputs."""
        return self.encoder_volume(
            inputs, data_samples, self.point_cloud_range, self.render_z_bins, self.lidar_channels
        )

    def field_of(self, inputs: dict, data_samples: Sequence) -> FieldFn:
        return self.render_head.field(self.render_head.build_fields(self.extract_feat(inputs, data_samples)))

    def render_views(self, ctx: RenderContext) -> Dict[str, RenderView]:
        views = {}
        if self.per_renderer is not None and ctx.colour is not None:
            views['per'] = RenderView(self.per_sampler, self.per_renderer, self.loss_rgb is not None)
        if self.bev_renderer is not None:
            views['bev'] = RenderView(self.bev_sampler, self.bev_renderer, False)
        return views

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """Mask, embed, render and compare (eqs. 5-7)."""
        masked = self.mask_inputs(inputs, data_samples)
        if self.with_lidar and not masked.lidar_masked:
            raise ValueError(
                'NSMAE: LiDAR is not masked: add the pipeline masking transform (masked_points) '
                'or set lidar_masker'
            )
        field = self.field_of(masked.inputs, data_samples)
        ctx = self.render_context(inputs, data_samples, masked)
        losses: Dict[str, Tensor] = {}
        views = self.render_views(ctx)  # perspective rays also for LiDAR-only models (depth only)
        if self.rand_sampler is not None and self.per_renderer is not None and ctx.points is not None:
            views['rand'] = RenderView(self.rand_sampler, self.per_renderer, False)
        depth_losses = dict(per=self.loss_depth_per, rand=self.loss_depth_per, bev=self.loss_depth_bev)
        for name, view in views.items():
            depth_loss = depth_losses[name]
            if not view.with_color and depth_loss is None:
                continue
            rays = view.sampler(ctx)
            out = view.renderer(field, rays.origins, rays.directions, with_color=view.with_color)
            t = rays.targets
            if view.with_color:
                losses.update(self.loss_terms('rgb', self.loss_rgb, out['rgb'], t['rgb'], None, 'rgb_mse'))
            if depth_loss is not None:
                losses.update(
                    self.loss_terms(
                        f'depth_{name}', depth_loss, out['depth'], t['depth'], t['valid'], f'depth_{name}_l1'
                    )
                )
        if not any('loss' in k for k in losses):
            raise ValueError('NSMAE: no loss term is active; configure a renderer and its loss')
        return losses
