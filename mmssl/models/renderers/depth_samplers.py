"""Where along each ray a renderer evaluates its field (registered, pluggable).

A depth sampler returns the ray parameters ``t`` of the samples and their bin lengths; it
receives the field and the density module, so a hierarchical sampler (NeuS/NeRF importance
up-sampling) can run a coarse pass before placing its fine samples.
"""

from __future__ import annotations

from typing import Tuple

from torch import Tensor, nn

from mmssl.ops.rays import uniform_samples
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
