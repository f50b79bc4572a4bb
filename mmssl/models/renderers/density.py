"""Density -> alpha parameterisations for the shared volume renderer.

The renderer (:class:`~mmssl.models.renderers.VolumeRenderer`) composites per-sample
opacities ``alpha``; a density module turns the field's raw output into them. This keeps
one renderer for NeRF-style density fields (NS-MAE) and SDF fields (a NeuS alpha, as
UniPAD uses, :class:`NeuSDensity`, is another module with the same ``forward(raw, deltas, **kwargs)``).
The renderer passes every field output but colour (e.g. ``sdf_grad``), ``view_dirs`` and
``metric_deltas`` (the interval lengths in metres) as keywords.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mmssl.ops.sdf_rendering import laplace_alpha, neus_alpha
from mmssl.ops.volume_rendering import nerf_alpha
from mmssl.registry import MODELS


@MODELS.register_module()
class NeRFDensity(nn.Module):
    """NeRF alpha ``1 - exp(-act(sigma) delta)`` (NS-MAE eq. 2).

    Args:
        activation: ``'relu'`` (NeRF and the official NS-MAE code) or ``'softplus'``.
    """

    def __init__(self, activation: str = 'relu') -> None:
        super().__init__()
        if activation not in ('relu', 'softplus'):
            raise ValueError(f"NeRFDensity: activation must be 'relu' or 'softplus', got {activation!r}")
        self.activation = activation

    def forward(self, raw: Tensor, deltas: Tensor, **field_outputs) -> Tensor:
        """Alpha of each sample.

        Args:
            raw: (B, R, S) density before activation.
            deltas: (B, R, S) bin lengths.
            field_outputs: the field's other outputs and ``view_dirs`` (unused by NeRF).

        Returns:
            (B, R, S) alpha.
        """
        return nerf_alpha(raw, deltas, self.activation)


@MODELS.register_module()
class NeuSDensity(nn.Module):
    """NeuS opacity of an SDF field (UniPAD Sec. 3.3; NeuS eq. 13), learnable sharpness.

    ``inv_s = exp(10 v)`` with ``v`` a learnable scalar initialised to ``init_val`` (UniPAD: 0.3,
    so ``inv_s`` starts at about 20.1). The field's SDF and the interval lengths are in metres;
    both are multiplied by ``scene_scale`` before the NeuS estimate, so ``inv_s`` is in UniPAD's
    normalised scene units (its code scales the scene by 1/54). The cosine comes from the field's
    ``sdf_grad`` and the unit view direction. ``cos_anneal_ratio`` (official UniPAD: fixed 1.0)
    can be scheduled by :class:`~mmssl.engine.hooks.NeuSCosAnnealHook`.

    Args:
        init_val: initial ``v``.
        scene_scale: metres -> normalised units.
        cos_anneal_ratio: initial ``r`` of :func:`mmssl.ops.sdf_rendering.neus_alpha`.
    """

    def __init__(
        self, init_val: float = 0.3, scene_scale: float = 1 / 54, cos_anneal_ratio: float = 1.0
    ) -> None:
        super().__init__()
        self.variance = nn.Parameter(torch.tensor(float(init_val)))
        self.scene_scale = float(scene_scale)
        self.cos_anneal_ratio = float(cos_anneal_ratio)

    @property
    def inv_s(self) -> Tensor:
        """The sharpness ``exp(10 v)`` (clamped to [1e-6, 1e6])."""
        return torch.exp(self.variance * 10.0).clamp(1e-6, 1e6)

    def forward(
        self,
        raw: Tensor,
        deltas: Tensor,
        view_dirs: Tensor,
        metric_deltas: Tensor,
        sdf_grad: Tensor | None = None,
        **field_outputs,
    ) -> Tensor:
        """Alpha of each sample.

        Args:
            raw: (B, R, S) signed distance in metres.
            deltas: (B, R, S) interval lengths in ray-parameter units (unused).
            view_dirs: (B, R, 3) unit ray directions.
            metric_deltas: (B, R, S) interval lengths in metres.
            sdf_grad: (B, R, S, 3) SDF gradient; without it (e.g. a coarse pass under
                ``no_grad``) the cosine is taken as -1 (the ray enters the surface head-on).
            field_outputs: the field's other outputs (unused).

        Returns:
            (B, R, S) alpha in [0, 1].
        """
        if sdf_grad is None:
            cos = torch.full_like(raw, -1.0)
        else:
            cos = (view_dirs.unsqueeze(2) * sdf_grad).sum(-1)
        s = self.scene_scale
        return neus_alpha(raw * s, metric_deltas * s, cos, self.inv_s, self.cos_anneal_ratio)

    def extra_repr(self) -> str:
        return f'scene_scale={self.scene_scale:.4g}, cos_anneal_ratio={self.cos_anneal_ratio}'


@MODELS.register_module()
class LaplaceDensity(nn.Module):
    """VolSDF Laplace density of an SDF field (an option to :class:`NeuSDensity`).

    ``sigma = Psi_beta(-sdf) / beta`` with a learnable ``beta = |b| + beta_min`` (VolSDF Sec. 3.1);
    SDF and interval lengths in metres are multiplied by ``scene_scale`` as for NeuS.

    Args:
        init_beta: initial ``b``.
        beta_min: lower bound of ``beta``.
        scene_scale: metres -> normalised units.
    """

    def __init__(self, init_beta: float = 0.1, beta_min: float = 1e-4, scene_scale: float = 1 / 54) -> None:
        super().__init__()
        self.beta_param = nn.Parameter(torch.tensor(float(init_beta)))
        self.beta_min = float(beta_min)
        self.scene_scale = float(scene_scale)

    @property
    def beta(self) -> Tensor:
        return self.beta_param.abs() + self.beta_min

    def forward(self, raw: Tensor, deltas: Tensor, metric_deltas: Tensor, **field_outputs) -> Tensor:
        """Alpha ``(B, R, S)`` from the SDF ``raw`` (metres) and ``metric_deltas`` (metres)."""
        s = self.scene_scale
        return laplace_alpha(raw * s, metric_deltas * s, self.beta)
