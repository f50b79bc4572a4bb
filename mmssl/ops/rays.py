"""Ray generation for neural rendering in the LiDAR frame (pure PyTorch).

Three ray families (NS-MAE, Sec. 3.3):

* perspective rays through camera pixels (:func:`perspective_rays`), parameterised by
  camera-z depth, so a ray's ``t`` is directly comparable with a projected-LiDAR depth
  map (``depth_maps``: camera-z metres);
* BEV rays orthogonal to the BEV plane, looking down from the top of the volume
  (:func:`bev_rays`); ``t`` is the distance below ``z_max``;
* random virtual pinhole cameras (:func:`random_virtual_cameras`) for the paper's
  random-viewpoint ablation (D^Rand); their depth targets come from projecting the
  LiDAR points (:func:`mmssl.geometry.depth_maps`).

Samples along rays are uniform with a fixed step (:func:`uniform_samples`); rays are
sub-sampled per iteration (:func:`sample_pixel_indices`) so the cost stays bounded.

Pixel convention: pixel ``(row i, col j)`` covers ``u in [j, j+1)``, ``v in [i, i+1)``
(index = ``floor`` of the projected coordinate, as MMDet3D/BEVFusion depth maps do);
rays go through pixel centres ``(j + 0.5, i + 0.5)``.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
from torch import Tensor

from mmssl.geometry.camera import pixel_centers

__all__ = [
    'uniform_samples',
    'perspective_rays',
    'bev_rays',
    'sample_pixel_indices',
    'random_virtual_cameras',
]


def uniform_samples(
    near: float,
    far: float,
    step: float,
    num_rays: int = 1,
    perturb: bool = False,
    generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> Tuple[Tensor, Tensor]:
    """Uniform samples with step ``delta`` along ``[near, far]``.

    The interval is cut into ``S = max(1, round((far - near) / step))`` equal bins (the
    effective step is ``(far - near) / S``); sample ``i`` sits at its bin's centre, or
    uniformly inside the bin with ``perturb`` (stratified sampling).

    Args:
        near, far: ray parameter range (e.g. metres of camera depth).
        step: requested sample spacing (NS-MAE: 0.8 perspective, 0.2 BEV).
        num_rays: number of rays ``R``.
        perturb: jitter each sample inside its bin.
        generator: random generator for ``perturb``.
        device: output device.

    Returns:
        ``t_vals`` (R, S) sample positions and ``deltas`` (R, S) bin lengths.
    """
    if not far > near or step <= 0:
        raise ValueError(
            f'uniform_samples: need far > near and step > 0, got near={near}, far={far}, step={step}'
        )
    num = max(1, int(round((far - near) / step)))
    width = (far - near) / num
    edges = near + width * torch.arange(num, dtype=torch.float32, device=device)
    offset = torch.full((num_rays, num), 0.5, device=device)
    if perturb:
        offset = torch.rand((num_rays, num), generator=generator, device=device)
    t_vals = edges.unsqueeze(0) + offset * width
    deltas = torch.full_like(t_vals, width)
    return t_vals, deltas


def perspective_rays(lidar2img: Tensor, uv: Tensor) -> Tuple[Tensor, Tensor]:
    """Rays in the LiDAR frame through image points, parameterised by camera depth.

    A point at camera depth ``d`` on the ray of pixel ``(u, v)`` is
    ``origin + d * direction`` (so ``direction`` has unit camera-z component, not unit
    length; normalise it for view conditioning).

    Args:
        lidar2img: (..., 4, 4) LiDAR -> depth-scaled pixel ``(u d, v d, d, 1)``; its last
            row must be ``(0, 0, 0, 1)``.
        uv: (..., R, 2) pixel coordinates (u = column, v = row) in the same image.

    Returns:
        ``origins`` (..., R, 3) camera centre per ray and ``directions`` (..., R, 3).
    """
    last = lidar2img[..., 3, :]
    ref = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=last.dtype, device=last.device)
    if not torch.allclose(last, ref.expand_as(last), atol=1e-6):
        raise ValueError(
            'perspective_rays: lidar2img last row must be (0, 0, 0, 1), got '
            f'{last.reshape(-1, 4)[:2].tolist()}'
        )
    inv = torch.linalg.inv(lidar2img.double())
    pix = torch.cat([uv.double(), torch.ones_like(uv[..., :1]).double()], dim=-1)  # (..., R, 3)
    directions = pix @ inv[..., :3, :3].transpose(-1, -2)
    origins = inv[..., :3, 3].unsqueeze(-2).expand_as(directions)
    return origins.to(uv.dtype).contiguous(), directions.to(uv.dtype)


def bev_rays(
    pc_range: Sequence[float], bev_shape: Tuple[int, int], index: Tensor | None = None
) -> Tuple[Tensor, Tensor]:
    """Vertical rays looking down from the top of the volume, one per BEV cell.

    Args:
        pc_range: xmin, ymin, zmin, xmax, ymax, zmax.
        bev_shape: (Y, X) cells covering the x-y extent.
        index: optional (R,) flat cell indices ``row * X + col`` to keep (all if None).

    Returns:
        ``origins`` (R, 3) at cell centres with ``z = zmax`` and ``directions`` (R, 3) =
        ``(0, 0, -1)``; ``t`` is the distance below ``zmax``, in ``[0, zmax - zmin]``.
    """
    ny, nx = bev_shape
    if index is None:
        index = torch.arange(ny * nx)
    uv = pixel_centers(index, nx)
    x = pc_range[0] + uv[:, 0] * (pc_range[3] - pc_range[0]) / nx
    y = pc_range[1] + uv[:, 1] * (pc_range[4] - pc_range[1]) / ny
    origins = torch.stack([x, y, torch.full_like(x, float(pc_range[5]))], dim=-1)
    directions = torch.zeros_like(origins)
    directions[:, 2] = -1.0
    return origins, directions


def sample_pixel_indices(
    num_pixels: int,
    num_random: int,
    valid: Tensor | None = None,
    num_valid: int = 0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Sub-sample rays: ``num_random`` uniform pixels plus ``num_valid`` target pixels.

    Uniform pixels are drawn without replacement. The second group is drawn among
    pixels where ``valid`` is True (e.g. a LiDAR depth exists), without replacement when
    enough exist, else with replacement; if none is valid it is drawn uniformly (the
    loss then ignores those rays because their target is missing).

    Args:
        num_pixels: number of candidate pixels/cells ``P``.
        num_random: uniform draws (clipped to ``P``).
        valid: optional (P,) bool.
        num_valid: draws among valid pixels.
        generator: random generator (on ``valid``'s device, or CPU).

    Returns:
        (num_random' + num_valid,) long flat indices.
    """
    device = valid.device if valid is not None else None
    n_rand = min(num_random, num_pixels)
    idx = [torch.randperm(num_pixels, generator=generator, device=device)[:n_rand]]
    if num_valid > 0:
        if valid is None:
            raise ValueError('sample_pixel_indices: num_valid > 0 needs a valid mask')
        weights = valid.reshape(-1).float()
        count = int(weights.sum().item())
        if count == 0:
            weights = torch.ones_like(weights)
            count = num_pixels
        idx.append(torch.multinomial(weights, num_valid, replacement=count < num_valid, generator=generator))
    return torch.cat(idx)


def random_virtual_cameras(
    num: int,
    pc_range: Sequence[float],
    image_size: Tuple[int, int],
    fov_deg: float = 70.0,
    height: Tuple[float, float] = (0.5, 2.5),
    xy_extent: float = 0.5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random horizontal pinhole cameras inside the volume (D^Rand ablation).

    Each camera sits at a uniformly drawn x, y within ``xy_extent`` times the volume's
    half-size around its centre, at a height drawn from ``height`` (metres, LiDAR
    frame), with a uniform random yaw and a level optical axis.

    Args:
        num: number of cameras.
        pc_range: xmin, ymin, zmin, xmax, ymax, zmax.
        image_size: (H, W) of the virtual images.
        fov_deg: horizontal field of view.
        height: (lo, hi) camera height range.
        xy_extent: fraction of the half-extent where centres are drawn.
        generator: random generator.

    Returns:
        (num, 4, 4) ``lidar2img`` matrices.
    """
    h, w = image_size
    r = torch.rand(num, 4, generator=generator)
    cx = (pc_range[0] + pc_range[3]) / 2
    cy = (pc_range[1] + pc_range[4]) / 2
    x = cx + (r[:, 0] * 2 - 1) * xy_extent * (pc_range[3] - pc_range[0]) / 2
    y = cy + (r[:, 1] * 2 - 1) * xy_extent * (pc_range[4] - pc_range[1]) / 2
    z = height[0] + r[:, 2] * (height[1] - height[0])
    yaw = r[:, 3] * 2 * math.pi
    focal = (w / 2) / math.tan(math.radians(fov_deg) / 2)
    k = torch.tensor([[focal, 0, w / 2, 0], [0, focal, h / 2, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    mats = []
    for i in range(num):
        fwd = torch.stack([torch.cos(yaw[i]), torch.sin(yaw[i]), torch.zeros(())])
        right = torch.stack([torch.sin(yaw[i]), -torch.cos(yaw[i]), torch.zeros(())])
        down = torch.tensor([0.0, 0.0, -1.0])
        rot = torch.stack([right, down, fwd])  # rows: camera x, y, z axes in LiDAR frame
        lidar2cam = torch.eye(4)
        lidar2cam[:3, :3] = rot
        lidar2cam[:3, 3] = -rot @ torch.stack([x[i], y[i], z[i]])
        mats.append(k @ lidar2cam)
    return torch.stack(mats)
