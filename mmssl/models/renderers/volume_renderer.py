"""Ray-sampling volume renderer shared by neural-rendering pre-training methods.

``VolumeRenderer`` places uniform samples along given rays, queries a field for raw
density (and optionally colour), turns density into alpha with a pluggable density module
(:mod:`~mmssl.models.renderers.density`) and composites colour, depth and opacity with
:func:`mmssl.ops.volume_rendering.volume_render` (NS-MAE eqs. 2 and 4).
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch
from torch import Tensor, nn

from mmssl.ops.rays import uniform_samples
from mmssl.ops.volume_rendering import volume_render
from mmssl.registry import MODELS

#: ``field(points (B, R, S, 3), view_dirs (B, R, 3), with_color) -> (raw (B, R, S), rgb (B, R, S, 3) | None)``
FieldFn = Callable[[Tensor, Tensor, bool], Tuple[Tensor, Tensor | None]]


@MODELS.register_module()
class VolumeRenderer(nn.Module):
    """Render colour/depth along rays through a field.

    Args:
        near: first ray parameter (metres of camera depth for perspective rays, metres
            below the volume top for BEV rays).
        far: last ray parameter.
        step: sample spacing ``delta`` (paper: 0.8 perspective, 0.2 BEV).
        density: config of the density -> alpha module (default NeRF, ReLU).
        perturb: stratified jitter of samples in training (official NS-MAE: off).
        normalize_depth: divide depth by opacity (paper eq. 4: off).
    """

    def __init__(
        self,
        near: float,
        far: float,
        step: float,
        density: dict | None = None,
        perturb: bool = False,
        normalize_depth: bool = False,
    ) -> None:
        super().__init__()
        self.near, self.far, self.step = float(near), float(far), float(step)
        self.density = MODELS.build(density or dict(type='NeRFDensity'))
        self.perturb = perturb
        self.normalize_depth = normalize_depth

    @property
    def num_samples(self) -> int:
        """Samples per ray ``S``."""
        return uniform_samples(self.near, self.far, self.step)[0].shape[1]

    def forward(
        self, field: FieldFn, origins: Tensor, directions: Tensor, with_color: bool = True
    ) -> Dict[str, Tensor]:
        """Render a batch of rays.

        Args:
            field: callable returning raw density and colour at points (see ``FieldFn``).
            origins: (B, R, 3) ray origins in the volume frame.
            directions: (B, R, 3) ray directions; a sample at parameter ``t`` lies at
                ``origin + t * direction`` (not necessarily unit length).
            with_color: also render colour.

        Returns:
            dict: ``depth`` (B, R), ``opacity`` (B, R), ``weights`` (B, R, S) and, with
            colour, ``rgb`` (B, R, 3).
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
        t_vals = t_vals.view(b, r, -1).to(origins.dtype)
        deltas = deltas.view(b, r, -1).to(origins.dtype)
        points = origins.unsqueeze(2) + t_vals.unsqueeze(-1) * directions.unsqueeze(2)
        view_dirs = directions / directions.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        raw, rgb = field(points, view_dirs, with_color)
        alpha = self.density(raw, deltas)
        out = volume_render(alpha, t_vals, rgb if with_color else None, normalize_depth=self.normalize_depth)
        result = {'depth': out['depth'], 'opacity': out['opacity'], 'weights': out['weights']}
        if with_color:
            result['rgb'] = out['value']
        return result

    def extra_repr(self) -> str:
        return f'near={self.near}, far={self.far}, step={self.step}, samples={self.num_samples}'


def render_in_chunks(
    renderer: VolumeRenderer,
    field: FieldFn,
    origins: Tensor,
    directions: Tensor,
    with_color: bool,
    chunk: int,
) -> Dict[str, Tensor]:
    """Render many rays in chunks of ``chunk`` rays (for visualisation under ``no_grad``).

    Args: as :meth:`VolumeRenderer.forward`; ``chunk`` rays per call.

    Returns:
        The same dict as the renderer, concatenated over rays (``weights`` dropped).
    """
    parts = []
    for start in range(0, origins.shape[1], chunk):
        out = renderer(
            field, origins[:, start : start + chunk], directions[:, start : start + chunk], with_color
        )
        out.pop('weights')
        parts.append(out)
    return {k: torch.cat([p[k] for p in parts], dim=1) for k in parts[0]}
