"""Ray-sampling volume renderer shared by neural-rendering pre-training methods.

``VolumeRenderer`` asks its depth sampler (:mod:`~.depth_samplers`) where to sample each ray,
queries a field there, turns the field's output into alpha with a pluggable density module
(:mod:`~mmssl.models.renderers.density`: NeRF density for NS-MAE, an SDF opacity such as NeuS's
for SDF methods) and composites colour, depth and opacity with
:func:`mmssl.ops.volume_rendering.volume_render` (NS-MAE eqs. 2 and 4).

Field contract (``FieldFn``): ``field(points (B, R, S, 3), view_dirs (B, R, 3), with_color)``
returns a dict with ``raw`` ``(B, R, S)`` (the density module's input, e.g. raw density or signed
distance), ``rgb`` ``(B, R, S, 3)`` when ``with_color``, and any extra outputs (e.g. ``sdf_grad``
``(B, R, S, 3)``); every entry but ``rgb`` is passed to the density module as a keyword, together
with ``view_dirs`` (unit) and ``metric_deltas`` (interval lengths in metres: ``deltas`` times the
direction's norm), and the extras are returned with the rendering.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch
from torch import Tensor, nn

from mmssl.ops.volume_rendering import volume_render
from mmssl.registry import MODELS

#: ``field(points (B, R, S, 3), view_dirs (B, R, 3), with_color) -> dict(raw=..., rgb=..., ...)``
FieldFn = Callable[[Tensor, Tensor, bool], Dict[str, Tensor]]


@MODELS.register_module()
class VolumeRenderer(nn.Module):
    """Render colour/depth along rays through a field.

    Args:
        near, far, step: the default :class:`~.depth_samplers.UniformDepthSampler` (paper: step
            0.8 perspective, 0.2 BEV); ignored when ``sampler`` is given.
        density: config of the field-output -> alpha module (default NeRF, ReLU).
        perturb: stratified jitter of the default sampler in training (official NS-MAE: off).
        normalize_depth: divide depth by opacity (paper eq. 4: off).
        sampler: config of another depth sampler (e.g. hierarchical importance sampling).
    """

    def __init__(
        self,
        near: float | None = None,
        far: float | None = None,
        step: float | None = None,
        density: dict | None = None,
        perturb: bool = False,
        normalize_depth: bool = False,
        sampler: dict | None = None,
    ) -> None:
        super().__init__()
        if sampler is None:
            if near is None or far is None or step is None:
                raise ValueError('VolumeRenderer needs near, far and step, or a sampler config')
            sampler = dict(type='UniformDepthSampler', near=near, far=far, step=step, perturb=perturb)
        self.sampler = MODELS.build(sampler)
        self.density = MODELS.build(density or dict(type='NeRFDensity'))
        self.normalize_depth = normalize_depth

    @property
    def num_samples(self) -> int:
        """Samples per ray ``S`` of the sampler."""
        return self.sampler.num_samples

    def forward(
        self, field: FieldFn, origins: Tensor, directions: Tensor, with_color: bool = True
    ) -> Dict[str, Tensor]:
        """Render a batch of rays.

        Args:
            field: callable returning the field's outputs at points (see ``FieldFn``).
            origins: (B, R, 3) ray origins in the volume frame.
            directions: (B, R, 3) ray directions; a sample at parameter ``t`` lies at
                ``origin + t * direction`` (not necessarily unit length).
            with_color: also render colour.

        Returns:
            dict: ``depth`` (B, R), ``opacity`` (B, R), ``weights`` and ``t_vals`` (B, R, S),
            with colour ``rgb`` (B, R, 3), and the field's extra outputs per sample.
        """
        view_dirs = directions / directions.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        t_vals, deltas = self.sampler(origins, directions, field=field, density=self.density)
        points = origins.unsqueeze(2) + t_vals.unsqueeze(-1) * directions.unsqueeze(2)
        out = dict(field(points, view_dirs, with_color))
        rgb = out.pop('rgb', None)
        metric_deltas = deltas * directions.norm(dim=-1, keepdim=True)
        alpha = self.density(deltas=deltas, view_dirs=view_dirs, metric_deltas=metric_deltas, **out)
        rendered = volume_render(
            alpha, t_vals, rgb if with_color else None, normalize_depth=self.normalize_depth
        )
        result = dict(out, depth=rendered['depth'], opacity=rendered['opacity'], weights=rendered['weights'])
        result['t_vals'] = t_vals
        result.pop('raw')
        if with_color:
            result['rgb'] = rendered['value']
        return result


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
        ``depth``, ``opacity`` and (with colour) ``rgb``, concatenated over rays.
    """
    keys = ('depth', 'opacity', 'rgb') if with_color else ('depth', 'opacity')
    parts = []
    for start in range(0, origins.shape[1], chunk):
        out = renderer(
            field, origins[:, start : start + chunk], directions[:, start : start + chunk], with_color
        )
        parts.append({k: out[k] for k in keys})
    return {k: torch.cat([p[k] for p in parts], dim=1) for k in keys}
