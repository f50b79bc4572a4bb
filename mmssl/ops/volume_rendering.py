"""Differentiable volume rendering along rays (pure PyTorch).

Implements the discrete volume-rendering quadrature of NeRF as used by NS-MAE
(Xu et al., "Learning Shared RGB-D Fields", eqs. 2 and 4):

    T_i     = exp(-sum_{j<i} sigma_j delta_j)          (transmittance)
    alpha_i = 1 - exp(-sigma_i delta_i)                 (opacity of sample i)
    w_i     = T_i alpha_i                               (sample weight)
    C(r)    = sum_i w_i c_i,   D(r) = sum_i w_i t_i,   O(r) = sum_i w_i

The compositing is written in terms of ``alpha`` only, so any density
parameterisation can reuse it: a "density -> alpha" function turns the field's
raw output into per-sample opacities and :func:`composite` does the rest. Since
``1 - alpha_i = exp(-sigma_i delta_i)``, ``T_i = prod_{j<i} (1 - alpha_j)`` is the
same transmittance, so a NeuS/VolSDF alpha (UniPAD) plugs into the same call.
:func:`nerf_alpha` is the NeRF one.

Shapes: ``R`` rays (any leading batch dims are allowed), ``S`` samples per ray,
``C`` value channels.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'AlphaFn',
    'nerf_alpha',
    'transmittance_from_alpha',
    'composite',
    'volume_render',
    'sample_volume',
    'normalize_points',
]

#: Signature of a "density -> alpha" function: ``(raw_density (..., S), deltas (..., S)) -> alpha``.
AlphaFn = Callable[[Tensor, Tensor], Tensor]


def nerf_alpha(raw_density: Tensor, deltas: Tensor, activation: str = 'relu') -> Tensor:
    """NeRF opacity ``alpha = 1 - exp(-act(sigma) * delta)`` (NS-MAE eq. 2).

    Args:
        raw_density: (..., S) raw field output (pre-activation density).
        deltas: (..., S) length of each sample's interval along the ray (same units
            as the ray parameter ``t``).
        activation: ``'relu'`` (NeRF and the NS-MAE code) or ``'softplus'``
            (smooth, never a dead gradient).

    Returns:
        (..., S) alpha in [0, 1).
    """
    if activation == 'relu':
        sigma = F.relu(raw_density)
    elif activation == 'softplus':
        sigma = F.softplus(raw_density)
    else:
        raise ValueError(f"nerf_alpha: activation must be 'relu' or 'softplus', got {activation!r}")
    # -expm1(-x) = 1 - exp(-x), accurate for small x.
    return -torch.expm1(-sigma * deltas)


def transmittance_from_alpha(alpha: Tensor, eps: float = 1e-10) -> Tensor:
    """Exclusive transmittance ``T_i = prod_{j<i} (1 - alpha_j)``.

    Computed in log space (``cumsum(log(1 - alpha))``), so it equals
    ``exp(-sum_{j<i} sigma_j delta_j)`` for the NeRF alpha to float precision.

    Args:
        alpha: (..., S) per-sample opacities in [0, 1].
        eps: floor inside the log so an alpha of exactly 1 keeps finite gradients.

    Returns:
        (..., S) transmittance, ``T_0 = 1``.
    """
    log_trans = torch.log(torch.clamp(1.0 - alpha, min=eps))
    excl = torch.cumsum(log_trans, dim=-1) - log_trans
    return torch.exp(excl)


def composite(alpha: Tensor) -> Tensor:
    """Per-sample weights ``w_i = T_i alpha_i`` (NS-MAE eq. 2).

    Args:
        alpha: (..., S) per-sample opacities.

    Returns:
        (..., S) weights; ``sum_i w_i = 1 - prod_i (1 - alpha_i) <= 1``.
    """
    return transmittance_from_alpha(alpha) * alpha


def volume_render(
    alpha: Tensor,
    t_vals: Tensor,
    values: Tensor | None = None,
    normalize_depth: bool = False,
    background: Tensor | None = None,
) -> Dict[str, Tensor]:
    """Render weights, opacity, expected depth and (optionally) a value along rays.

    Args:
        alpha: (..., S) per-sample opacities from a density -> alpha function.
        t_vals: (..., S) ray parameter of each sample (e.g. camera-z metres).
        values: optional (..., S, C) per-sample values (colour, features).
        normalize_depth: divide the depth by the opacity (depth of the
            terminating surface given the ray terminates). The paper's eq. 4
            (and the default) does not normalise.
        background: optional (C,) value composited behind the last sample with
            the remaining transmittance ``1 - O(r)``; ``None`` = black / nothing.

    Returns:
        dict with ``weights`` (..., S), ``opacity`` (...), ``depth`` (...) and,
        if ``values`` is given, ``value`` (..., C).
    """
    if alpha.shape != t_vals.shape:
        raise ValueError(
            f'volume_render: alpha {tuple(alpha.shape)} and t_vals '
            f'{tuple(t_vals.shape)} must have the same shape'
        )
    weights = composite(alpha)
    opacity = weights.sum(dim=-1)
    depth = (weights * t_vals).sum(dim=-1)
    if normalize_depth:
        depth = depth / opacity.clamp(min=1e-6)
    out = {'weights': weights, 'opacity': opacity, 'depth': depth}
    if values is not None:
        if values.shape[:-1] != alpha.shape:
            raise ValueError(
                f'volume_render: values {tuple(values.shape)} must be alpha {tuple(alpha.shape)} + (C,)'
            )
        value = (weights.unsqueeze(-1) * values).sum(dim=-2)
        if background is not None:
            value = value + (1.0 - opacity).unsqueeze(-1) * background
        out['value'] = value
    return out


def normalize_points(points: Tensor, pc_range: Tensor) -> Tensor:
    """Map metric points into ``grid_sample``'s [-1, 1] cube.

    With ``align_corners=False`` the cube's faces are the outer faces of the
    corner voxels, so voxel ``i`` along an axis of size ``n`` covering
    ``[lo, hi]`` has its centre at ``lo + (i + 0.5) (hi - lo) / n``.

    Args:
        points: (..., 3) x, y, z in the volume's frame (metres).
        pc_range: (6,) xmin, ymin, zmin, xmax, ymax, zmax.

    Returns:
        (..., 3) normalised x, y, z.
    """
    lo = pc_range[:3].to(points)
    hi = pc_range[3:].to(points)
    return (points - lo) / (hi - lo) * 2.0 - 1.0


def sample_volume(volume: Tensor, points: Tensor, pc_range: Tensor, padding_mode: str = 'zeros') -> Tensor:
    """Trilinearly read a dense voxel volume at metric points (``F.grid_sample`` 5D).

    Args:
        volume: (B, C, Z, Y, X) features; index ``[b, :, k, j, i]`` is the voxel whose
            centre is at x_i, y_j, z_k inside ``pc_range``.
        points: (B, ..., 3) x, y, z in metres (any middle dims).
        pc_range: (6,) xmin, ymin, zmin, xmax, ymax, zmax covered by ``volume``.
        padding_mode: ``'zeros'`` (outside the volume reads 0: empty space) or
            ``'border'``.

    Returns:
        (B, ..., C) features; differentiable w.r.t. ``volume`` and ``points``.
    """
    if volume.dim() != 5:
        raise ValueError(f'sample_volume: volume must be (B, C, Z, Y, X), got {tuple(volume.shape)}')
    b = volume.shape[0]
    if points.shape[0] != b or points.shape[-1] != 3:
        raise ValueError(f'sample_volume: points must be (B={b}, ..., 3), got {tuple(points.shape)}')
    mid = points.shape[1:-1]
    grid = normalize_points(points, pc_range).reshape(b, 1, 1, -1, 3)  # x, y, z order = W, H, D
    out = F.grid_sample(
        volume, grid.to(volume.dtype), mode='bilinear', padding_mode=padding_mode, align_corners=False
    )  # (B, C, 1, 1, P)
    return out.reshape(b, volume.shape[1], -1).transpose(1, 2).reshape(b, *mid, volume.shape[1])
