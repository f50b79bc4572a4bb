"""Camera geometry shared by the pipeline, the models and the ops (pure PyTorch).

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


def pad_cam2img(cam2img: Tensor) -> Tensor:
    """Pad camera intrinsics to ``(..., 4, 4)``.

    Args:
        cam2img: ``(..., 3, 3)`` pinhole intrinsics (nuScenes) or ``(..., 3, 4)``/``(..., 4, 4)``
            projections (KITTI's rectified ``P2``, whose fourth column holds a translation).

    Returns:
        ``(..., 4, 4)`` matrix with the input in its top-left block and identity elsewhere.
    """
    rows, cols = cam2img.shape[-2:]
    if rows > 4 or cols > 4 or rows < 3 or cols < 3:
        raise ValueError(f'cam2img must be 3x3, 3x4 or 4x4, got {tuple(cam2img.shape)}')
    out = torch.eye(4, dtype=cam2img.dtype, device=cam2img.device).expand(*cam2img.shape[:-2], 4, 4).clone()
    out[..., :rows, :cols] = cam2img
    return out


def compose_lidar2img(cam2img: Tensor, lidar2cam: Tensor, img_aug_matrix: Tensor | None = None) -> Tensor:
    """``lidar2img = P(img_aug) @ pad(cam2img) @ lidar2cam`` (batched over leading dims).

    Args:
        cam2img: ``(..., 3, 3)``, ``(..., 3, 4)`` or ``(..., 4, 4)`` intrinsics.
        lidar2cam: ``(..., 4, 4)`` extrinsics.
        img_aug_matrix: optional ``(..., 4, 4)`` BEVFusion-style image augmentation, applied
            through :func:`img_aug_to_projective`.

    Returns:
        ``(..., 4, 4)`` mapping LiDAR ``(x, y, z, 1)`` to ``(u d, v d, d, 1)``.
    """
    out = pad_cam2img(cam2img).to(lidar2cam.dtype) @ lidar2cam
    if img_aug_matrix is not None:
        out = img_aug_to_projective(img_aug_matrix.to(out.dtype)) @ out
    return out


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


def pixel_centers(index: Tensor, width: int) -> Tensor:
    """Flat pixel indices ``row * width + col`` -> pixel-centre ``(u, v)``.

    Args:
        index: (...,) long flat indices.
        width: image width.

    Returns:
        (..., 2) float u, v.
    """
    col = (index % width).float() + 0.5
    row = torch.div(index, width, rounding_mode='floor').float() + 0.5
    return torch.stack([col, row], dim=-1)
