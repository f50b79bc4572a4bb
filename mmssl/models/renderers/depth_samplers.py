"""Where along each ray a renderer evaluates its field (registered, pluggable).

A depth sampler returns the ray parameters ``t`` of the samples and their bin lengths; it
receives the field and the density module, so a hierarchical sampler (NeuS/NeRF importance
up-sampling) can run a coarse pass before placing its fine samples.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import Tensor, nn

from mmssl.ops.rays import uniform_samples
from mmssl.ops.sdf_rendering import neus_upsample, ray_aabb
from mmssl.registry import MODELS


@MODELS.register_module()
class UniformDepthSampler(nn.Module):
    """Uniform samples with a fixed step along ``[near, far]`` (NS-MAE Sec. 3.3).

    Args:
        near: first ray parameter (metres of camera depth for perspective rays, metres below
            the volume top for BEV rays).
        far: last ray parameter.
        step: sample spacing ``delta`` (NS-MAE: 0.8 perspective, 0.2 BEV).
        perturb: stratified jitter inside each bin while training (official NS-MAE: off).
    """

    def __init__(self, near: float, far: float, step: float, perturb: bool = False) -> None:
        super().__init__()
        self.near, self.far, self.step = float(near), float(far), float(step)
        self.perturb = perturb

    @property
    def num_samples(self) -> int:
        """Samples per ray ``S``."""
        return uniform_samples(self.near, self.far, self.step)[0].shape[1]

    def forward(
        self, origins: Tensor, directions: Tensor, field=None, density: nn.Module | None = None
    ) -> Tuple[Tensor, Tensor]:
        """Sample ``t`` for rays ``(B, R, 3)``.

        Args:
            origins, directions: ``(B, R, 3)`` rays.
            field, density: unused here (hierarchical samplers query them).

        Returns:
            ``t_vals`` and ``deltas``, both ``(B, R, S)`` in the dtype of ``origins``.
        """
        b, r, _ = origins.shape
        t_vals, deltas = uniform_samples(
            self.near,
            self.far,
            self.step,
            num_rays=b * r,
            perturb=self.perturb and self.training,
            device=origins.device,
        )
        return t_vals.view(b, r, -1).to(origins.dtype), deltas.view(b, r, -1).to(origins.dtype)

    def extra_repr(self) -> str:
        return f'near={self.near}, far={self.far}, step={self.step}, samples={self.num_samples}'


@MODELS.register_module()
class NeuSImportanceSampler(nn.Module):
    """Stratified samples inside the volume plus NeuS up-sampling near the surface (UniPAD Sec. 3.3).

    Per ray, ``near = max(box entry, near_min)`` and ``far`` = box exit (metres along the ray,
    converted to the ray's parameter); ``num_coarse`` stratified samples with one jitter per ray
    (the official code's), then one up-sampling pass (:func:`mmssl.ops.sdf_rendering.neus_upsample`
    at the fixed sharpness ``upsample_inv_s`` in normalised units) adds ``num_fine`` samples where
    the coarse SDF crosses zero. UniPAD: 72 + 24 samples, ``inv_s`` 64, scene scale 1/54, near
    1 m. Samples are returned sorted; ``delta_i = t_{i+1} - t_i`` (the last one the mean coarse
    step), evaluated at the interval starts as in the official code.

    Args:
        point_cloud_range: the volume's box (xmin, ymin, zmin, xmax, ymax, zmax) in metres.
        num_coarse, num_fine: stratified and up-sampled samples per ray.
        upsample_inv_s: sharpness of the up-sampling pass.
        scene_scale: metres -> the normalised units of ``upsample_inv_s``.
        near_min: smallest near distance in metres.
        perturb: jitter the stratified samples while training.
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        num_coarse: int = 72,
        num_fine: int = 24,
        upsample_inv_s: float = 64.0,
        scene_scale: float = 1 / 54,
        near_min: float = 1.0,
        perturb: bool = True,
    ) -> None:
        super().__init__()
        if len(point_cloud_range) != 6:
            raise ValueError(
                f'NeuSImportanceSampler: point_cloud_range needs 6 values, got {point_cloud_range}'
            )
        self.register_buffer('box', torch.tensor([float(v) for v in point_cloud_range]), persistent=False)
        self.num_coarse, self.num_fine = int(num_coarse), int(num_fine)
        self.upsample_inv_s = float(upsample_inv_s)
        self.scene_scale = float(scene_scale)
        self.near_min = float(near_min)
        self.perturb = perturb

    @property
    def num_samples(self) -> int:
        """Samples per ray ``S`` (coarse + fine)."""
        return self.num_coarse + self.num_fine

    def bounds(self, origins: Tensor, directions: Tensor) -> Tuple[Tensor, Tensor]:
        """``near``, ``far`` ``(B, R)`` ray parameters: box entry/exit, near at least ``near_min`` m."""
        norm = directions.norm(dim=-1).clamp(min=1e-9)
        t_in, t_out = ray_aabb(origins, directions, self.box)
        near = torch.maximum(t_in, self.near_min / norm)
        far = torch.maximum(t_out, near + 1e-3 / norm)  # a ray missing the box gets a 1 mm segment
        return near, far

    def forward(
        self, origins: Tensor, directions: Tensor, field=None, density: nn.Module | None = None
    ) -> Tuple[Tensor, Tensor]:
        """Sample ``t`` for rays ``(B, R, 3)``; ``field`` gives the coarse SDF (``raw``).

        Returns:
            ``t_vals`` and ``deltas``, both ``(B, R, num_coarse + num_fine)``.
        """
        near, far = self.bounds(origins, directions)
        b, r = near.shape
        step = (far - near) / self.num_coarse
        offset = torch.full((b, r, 1), 0.5, device=origins.device, dtype=origins.dtype)
        if self.perturb and self.training:
            offset = torch.rand_like(offset)
        bins = torch.arange(self.num_coarse, device=origins.device, dtype=origins.dtype)
        t_vals = near.unsqueeze(-1) + (bins + offset) * step.unsqueeze(-1)
        if self.num_fine > 0:
            if field is None:
                raise ValueError('NeuSImportanceSampler needs the field for its up-sampling pass')
            with torch.no_grad():
                view_dirs = directions / directions.norm(dim=-1, keepdim=True).clamp(min=1e-6)
                pts = origins.unsqueeze(2) + t_vals.unsqueeze(-1) * directions.unsqueeze(2)
                sdf = field(pts, view_dirs, False)['raw'] * self.scene_scale
                fine = neus_upsample(t_vals, sdf, self.num_fine, self.upsample_inv_s)
            t_vals, _ = torch.sort(torch.cat([t_vals, fine], -1), -1)
        deltas = torch.cat([t_vals[..., 1:] - t_vals[..., :-1], step.unsqueeze(-1)], -1)
        return t_vals.detach(), deltas.detach()

    def extra_repr(self) -> str:
        return (
            f'samples={self.num_coarse}+{self.num_fine}, upsample_inv_s={self.upsample_inv_s}, '
            f'near_min={self.near_min}'
        )
