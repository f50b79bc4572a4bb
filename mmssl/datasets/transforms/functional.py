"""Pure-PyTorch geometry, target and masking functions shared by the data pipeline and models.

Everything here takes and returns ``torch.Tensor`` (CPU or GPU) and imports nothing but torch
and the standard library, so model-side code (e.g. a target generator running on the GPU) can
reuse exactly the math the pipeline transforms use.

Conventions:
    * Points: ``(N, C)`` with ``x, y, z`` in the first three columns (metres, LiDAR frame).
    * Projection matrices are ``(4, 4)`` homogeneous: ``lidar2img @ [x, y, z, 1]`` gives
      ``(u * d, v * d, d, 1)`` where ``d`` is the camera-z depth (metres) and ``(u, v)`` the
      continuous pixel coordinate (pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``, its
      centre is at ``(j + 0.5, i + 0.5)``).
    * ``img_aug_matrix`` (BEVFusion's convention): ``(4, 4)`` with the 2x2 pixel transform in
      ``[:2, :2]`` and the pixel translation in ``[:2, 3]``; it maps ``(u, v, 1, 1)`` (or
      ``(u, v, d, 1)`` after the perspective division) of the original image to the augmented
      image. :func:`img_aug_to_projective` turns it into the matrix that left-multiplies a
      ``lidar2img``/``cam2img``.
    * Grids: ``point_cloud_range = (x_min, y_min, z_min, x_max, y_max, z_max)`` and
      ``voxel_size = (dx, dy, dz)``; grids are indexed ``(Z, Y, X)`` (BEV maps ``(Y, X)``),
      a point with ``x_min <= x < x_max`` (same for y, z) lies in cell
      ``floor((x - x_min) / dx)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------
def pad_cam2img(cam2img: Tensor) -> Tensor:
    """Pad a camera intrinsic matrix to ``(4, 4)``.

    Args:
        cam2img: ``(3, 3)`` pinhole intrinsics (nuScenes) or ``(3, 4)``/``(4, 4)`` projection
            (KITTI's rectified ``P2``, whose fourth column holds a translation).

    Returns:
        ``(4, 4)`` matrix with the input in its top-left block and identity elsewhere.
    """
    rows, cols = cam2img.shape
    if rows > 4 or cols > 4 or rows < 3 or cols < 3:
        raise ValueError(f'cam2img must be 3x3, 3x4 or 4x4, got {tuple(cam2img.shape)}')
    out = torch.eye(4, dtype=cam2img.dtype, device=cam2img.device)
    out[:rows, :cols] = cam2img
    return out


def compose_lidar2img(cam2img: Tensor, lidar2cam: Tensor) -> Tensor:
    """``lidar2img = pad(cam2img) @ lidar2cam`` for one ``(4, 4)`` or a batch ``(N, 4, 4)``."""
    if cam2img.dim() == 3:
        return torch.stack([compose_lidar2img(k, t) for k, t in zip(cam2img, lidar2cam)])
    return pad_cam2img(cam2img) @ lidar2cam


def img_aug_to_projective(img_aug_matrix: Tensor) -> Tensor:
    """Turn a BEVFusion-style ``img_aug_matrix`` into the matrix acting on ``lidar2img``.

    ``img_aug_matrix`` maps ``(u, v, d, 1)`` to ``(u', v', d, 1)`` with the pixel translation
    in column 3. A ``lidar2img`` produces ``(u d, v d, d, 1)``, so the translation has to
    scale with ``d``: it moves to column 2.

    Args:
        img_aug_matrix: ``(..., 4, 4)``.

    Returns:
        ``(..., 4, 4)`` matrix ``M`` with ``M @ lidar2img`` the augmented projection.
    """
    out = img_aug_matrix.clone()
    out[..., :2, 2] = img_aug_matrix[..., :2, 3]
    out[..., :2, 3] = 0
    return out


def affine_to_img_aug_matrix(affine: Tensor) -> Tensor:
    """Embed a ``(2, 3)`` pixel affine ``[A | b]`` into a BEVFusion ``(4, 4)`` img_aug_matrix."""
    out = torch.eye(4, dtype=affine.dtype, device=affine.device)
    out[:2, :2] = affine[:, :2]
    out[:2, 3] = affine[:, 2]
    return out


def project_points(points: Tensor, lidar2img: Tensor) -> tuple[Tensor, Tensor]:
    """Project LiDAR points into one or several cameras.

    Args:
        points: ``(N, C)``, x, y, z first.
        lidar2img: ``(4, 4)`` or ``(N_cam, 4, 4)``.

    Returns:
        ``uv`` ``(N_cam, N, 2)`` continuous pixel coordinates (``(N, 2)`` for one camera) and
        ``depth`` ``(N_cam, N)`` camera-z in metres (``(N,)``). Points with ``depth <= 0`` get
        meaningless ``uv``; callers mask them.
    """
    single = lidar2img.dim() == 2
    mats = lidar2img[None] if single else lidar2img
    xyz1 = torch.cat([points[:, :3], points.new_ones(points.shape[0], 1)], dim=1)
    cam = torch.einsum('cij,nj->cni', mats.to(points.dtype), xyz1)
    depth = cam[..., 2]
    uv = cam[..., :2] / depth.clamp(min=1e-6)[..., None]
    if single:
        return uv[0], depth[0]
    return uv, depth


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------
def _visible(uv: Tensor, depth: Tensor, img_hw: Sequence[int], min_depth: float) -> Tensor:
    h, w = img_hw
    return (depth > min_depth) & (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)


def depth_maps(
    points: Tensor, lidar2img: Tensor, img_hw: Sequence[int], stride: int = 1, min_depth: float = 1e-3
) -> Tensor:
    """Perspective depth maps: LiDAR projected into every camera, nearest point wins.

    Args:
        points: ``(N, C)`` LiDAR points (x, y, z first).
        lidar2img: ``(N_cam, 4, 4)`` projections into images of size ``img_hw``.
        img_hw: ``(H, W)`` of the (network-input) images ``lidar2img`` maps into.
        stride: Output stride; cell ``(i, j)`` of the ``(H // stride, W // stride)`` map holds
            the smallest depth of the points whose pixel falls in its ``stride x stride`` block.
        min_depth: Points with camera-z at or below this are ignored.

    Returns:
        ``(N_cam, H // stride, W // stride)`` float camera-z depth (metres), 0 where no point.
    """
    h, w = int(img_hw[0]), int(img_hw[1])
    oh, ow = h // stride, w // stride
    uv, depth = project_points(points, lidar2img)
    valid = _visible(uv, depth, (oh * stride, ow * stride), min_depth)
    n_cam = lidar2img.shape[0]
    cam_idx, pt_idx = torch.nonzero(valid, as_tuple=True)
    sel = uv[cam_idx, pt_idx]
    col = torch.div(sel[:, 0], stride, rounding_mode='floor').long()
    row = torch.div(sel[:, 1], stride, rounding_mode='floor').long()
    flat = (cam_idx * oh + row) * ow + col
    out = torch.full((n_cam * oh * ow,), math.inf, dtype=points.dtype, device=points.device)
    out.scatter_reduce_(0, flat, depth[cam_idx, pt_idx], reduce='amin', include_self=True)
    out[torch.isinf(out)] = 0
    return out.view(n_cam, oh, ow)


def point_to_pixel(
    points: Tensor, lidar2img: Tensor, img_hw: Sequence[int], min_depth: float = 1e-3
) -> Tensor:
    """Point-to-pixel correspondences of every point that lands inside a camera image.

    Args:
        points: ``(N, C)``.
        lidar2img: ``(N_cam, 4, 4)``.
        img_hw: ``(H, W)``.
        min_depth: Points with camera-z at or below this are ignored.

    Returns:
        ``(M, 4)`` float32 rows ``(point index, camera id, u, v)`` (continuous pixel
        coordinates), ordered by camera then point index; a point seen by two cameras appears
        twice. Indices are exact up to 2**24 points.
    """
    uv, depth = project_points(points, lidar2img)
    valid = _visible(uv, depth, img_hw, min_depth)
    cam_idx, pt_idx = torch.nonzero(valid, as_tuple=True)
    sel = uv[cam_idx, pt_idx]
    return torch.stack([pt_idx.to(sel.dtype), cam_idx.to(sel.dtype), sel[:, 0], sel[:, 1]], dim=1).float()


def grid_shape(point_cloud_range: Sequence[float], voxel_size: Sequence[float]) -> tuple:
    """``(Z, Y, X)`` number of cells of a grid (rounded to the nearest integer)."""
    sizes = [
        round((point_cloud_range[i + 3] - point_cloud_range[i]) / voxel_size[i])
        for i in range(len(voxel_size))
    ]
    return tuple(reversed(sizes))


def voxel_coords(
    points: Tensor, point_cloud_range: Sequence[float], voxel_size: Sequence[float]
) -> tuple[Tensor, Tensor]:
    """Integer ``(z, y, x)`` cell of every point and whether it lies inside the range.

    Args:
        points: ``(N, C)``.
        point_cloud_range: 6 floats.
        voxel_size: 3 floats (``dx, dy, dz``); with 2 floats only ``(y, x)`` are computed.

    Returns:
        ``coords`` ``(N, 3)`` (or ``(N, 2)``) long in ``(z, y, x)`` order and ``inside`` ``(N,)``
        bool. Coordinates of points outside the range are clamped into it (mask them).
    """
    ndim = len(voxel_size)
    lo = points.new_tensor(point_cloud_range[:ndim])
    size = points.new_tensor(voxel_size)
    shape_xyz = torch.tensor(list(reversed(grid_shape(point_cloud_range, voxel_size))), device=points.device)
    idx = torch.floor((points[:, :ndim] - lo) / size).long()
    inside = ((idx >= 0) & (idx < shape_xyz)).all(dim=1)
    idx = torch.minimum(idx.clamp(min=0), shape_xyz - 1)
    return idx.flip(1), inside


def occupancy_grid(points: Tensor, point_cloud_range: Sequence[float], voxel_size: Sequence[float]) -> Tensor:
    """Binary voxel occupancy of the points inside ``point_cloud_range``.

    Returns:
        ``(Z, Y, X)`` bool, True where at least one point lies in the voxel.
    """
    shape = grid_shape(point_cloud_range, voxel_size)
    coords, inside = voxel_coords(points, point_cloud_range, voxel_size)
    c = coords[inside]
    occ = torch.zeros(shape, dtype=torch.bool, device=points.device)
    occ[c[:, 0], c[:, 1], c[:, 2]] = True
    return occ


def bev_depth_height(
    points: Tensor, point_cloud_range: Sequence[float], bev_cell_size: Sequence[float]
) -> tuple[Tensor, Tensor, Tensor]:
    """Top-down (BEV) height and depth maps, as seen by vertical rays looking down.

    For BEV cell ``(y, x)`` (size ``bev_cell_size = (dx, dy)`` over the x/y extent of
    ``point_cloud_range``), let ``z_top`` be the z of the highest point inside the range that
    falls in the cell. Then

    * ``height = z_top - z_min`` (height above the range floor, metres), and
    * ``depth = z_max - z_top`` (distance travelled by a ray cast down from the top of the
      range until it hits the highest point, metres; NS-MAE's BEV rendering, Xu et al., 2023).

    Both are 0 in cells without points; ``occupied`` tells them apart from a point exactly
    on the floor (height 0) or at the top (depth 0).

    Returns:
        ``depth``, ``height`` ``(Y, X)`` float and ``occupied`` ``(Y, X)`` bool.
    """
    x_min, y_min, z_min, x_max, y_max, z_max = [float(v) for v in point_cloud_range]
    ny, nx = grid_shape(point_cloud_range, bev_cell_size[:2])
    coords, inside = voxel_coords(points, point_cloud_range, bev_cell_size[:2])
    z = points[:, 2]
    inside = inside & (z >= z_min) & (z < z_max)
    flat = coords[inside, 0] * nx + coords[inside, 1]
    top = torch.full((ny * nx,), -math.inf, dtype=points.dtype, device=points.device)
    top.scatter_reduce_(0, flat, z[inside], reduce='amax', include_self=True)
    occupied = torch.isfinite(top)
    height = torch.where(occupied, top - z_min, torch.zeros_like(top))
    depth = torch.where(occupied, z_max - top, torch.zeros_like(top))
    return depth.view(ny, nx), height.view(ny, nx), occupied.view(ny, nx)


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------
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


def unique_voxels(coords: Tensor, shape: Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
    """Unique voxel coordinates and, per point, the index of its voxel.

    Args:
        coords: ``(N, D)`` long non-negative voxel coordinates.
        shape: Grid shape (``D`` ints) bounding ``coords``; with it the coordinates are
            linearised and ``torch.unique`` runs on 1D keys (about 100x faster than on rows).

    Returns:
        ``voxels`` ``(V, D)`` unique coordinates sorted lexicographically and ``inverse``
        ``(N,)`` with ``voxels[inverse] == coords``.
    """
    if shape is None:
        return torch.unique(coords, dim=0, return_inverse=True)
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * int(shape[i + 1])
    keys = (coords * coords.new_tensor(strides)).sum(dim=1)
    ukeys, inverse = torch.unique(keys, return_inverse=True)
    voxels = torch.stack(
        [torch.div(ukeys, st, rounding_mode='floor') % int(n) for st, n in zip(strides, shape)], dim=1
    )
    return voxels, inverse


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
