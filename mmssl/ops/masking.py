"""Mask drawing with exact counts (pure PyTorch), shared by the pipeline and the model maskers.

Every function masks exactly ``round(ratio * n)`` of ``n`` candidates (per band or group) with
an optional ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def exact_random_mask(
    num: int, ratio: float, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> Tensor:
    """A bool vector of length ``num`` with exactly ``round(ratio * num)`` True entries."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f'mask ratio must be in [0, 1], got {ratio}')
    k = int(round(ratio * num))
    mask = torch.zeros(num, dtype=torch.bool, device=device)
    if k > 0:
        perm = torch.randperm(num, generator=generator)
        mask[perm[:k].to(mask.device)] = True
    return mask


def image_patch_mask(
    num_cams: int,
    img_hw: Sequence[int],
    patch_size: int,
    ratio: float,
    shared: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random patch mask per camera image (MAE-style).

    Args:
        num_cams: Number of camera images.
        img_hw: ``(H, W)``, both divisible by ``patch_size``.
        patch_size: Side of a square patch in pixels.
        ratio: Exactly ``round(ratio * n_patches)`` patches are masked in every image.
        shared: One mask for all cameras (the official NS-MAE code) instead of one per camera.
        generator: Random generator.

    Returns:
        ``(N_cam, H // patch_size, W // patch_size)`` bool, True = masked.
    """
    h, w = int(img_hw[0]), int(img_hw[1])
    if h % patch_size or w % patch_size:
        raise ValueError(f'image size {(h, w)} is not divisible by patch size {patch_size}')
    gh, gw = h // patch_size, w // patch_size
    draws = 1 if shared else num_cams
    masks = torch.stack([exact_random_mask(gh * gw, ratio, generator) for _ in range(draws)])
    masks = masks.view(draws, gh, gw)
    return masks.expand(num_cams, gh, gw).clone() if shared else masks


def range_aware_voxel_mask(
    voxel_centers_xy: Tensor,
    band_edges: Sequence[float],
    ratios: Sequence[float],
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mask voxels with a ratio that depends on their horizontal distance to the sensor.

    Args:
        voxel_centers_xy: ``(V, 2)`` x, y of the non-empty voxels' centres (metres).
        band_edges: Increasing upper edges of all bands but the last, e.g. ``(30, 50)`` makes
            the bands ``[0, 30]``, ``(30, 50]``, ``(50, inf)``.
        ratios: One masking ratio per band (``len(band_edges) + 1``); inside each band exactly
            ``round(ratio * n_band)`` voxels are masked.
        generator: Random generator.

    Returns:
        ``(V,)`` bool, True = masked.
    """
    if len(ratios) != len(band_edges) + 1:
        raise ValueError(f'{len(band_edges)} band edges need {len(band_edges) + 1} ratios, got {len(ratios)}')
    dist = voxel_centers_xy.norm(dim=1)
    edges = voxel_centers_xy.new_tensor(list(band_edges))
    band = torch.bucketize(dist, edges, right=False)  # dist == edge goes to the lower band
    mask = torch.zeros(dist.shape[0], dtype=torch.bool, device=dist.device)
    for b, ratio in enumerate(ratios):
        idx = torch.nonzero(band == b, as_tuple=True)[0]
        mask[idx] = exact_random_mask(idx.numel(), float(ratio), generator, device=dist.device)
    return mask


def bev_guided_mask(
    occupied: Tensor, ratio_nonempty: float, ratio_empty: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Mask a ratio of the non-empty and, separately, of the empty BEV cells (AD-L-JEPA).

    Args:
        occupied: ``(Y, X)`` bool, True where the cell holds at least one point.
        ratio_nonempty: Exactly ``round(ratio * n_nonempty)`` non-empty cells are masked.
        ratio_empty: Exactly ``round(ratio * n_empty)`` empty cells are masked.
        generator: Random generator.

    Returns:
        ``mask_nonempty``, ``mask_empty``: ``(Y, X)`` bool, disjoint, True = masked.
    """
    flat = occupied.reshape(-1)
    mask_ne = torch.zeros_like(flat)
    mask_e = torch.zeros_like(flat)
    ne_idx = torch.nonzero(flat, as_tuple=True)[0]
    e_idx = torch.nonzero(~flat, as_tuple=True)[0]
    mask_ne[ne_idx] = exact_random_mask(ne_idx.numel(), ratio_nonempty, generator, flat.device)
    mask_e[e_idx] = exact_random_mask(e_idx.numel(), ratio_empty, generator, flat.device)
    return mask_ne.view_as(occupied), mask_e.view_as(occupied)
