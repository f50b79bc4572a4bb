"""Keeping the camera/LiDAR calibration of a results dict exact under augmentation.

A results dict carries, after :class:`~mmssl.datasets.transforms.LoadSSLMultiViewImages`:

* ``cam2img`` ``(N_cam, 4, 4)``: intrinsics of the (augmented) images;
* ``lidar2cam`` ``(N_cam, 4, 4)``: (augmented) LiDAR frame to camera;
* ``lidar2img`` ``(N_cam, 4, 4)``: (augmented) LiDAR frame to (augmented) pixels;
* ``img_aug_matrix`` ``(N_cam, 4, 4)``: original pixels to augmented pixels (BEVFusion form,
  see :mod:`mmssl.geometry`);
* ``lidar_aug_matrix`` ``(4, 4)``: original LiDAR frame to augmented LiDAR frame.

So ``lidar2img = P(img_aug_matrix) @ lidar2img_orig @ inv(lidar_aug_matrix)`` at all times, where
``P`` is :func:`mmssl.geometry.img_aug_to_projective`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import BadSampleError


def apply_lidar_aug(results: dict, matrix: np.ndarray) -> None:
    """Record a rigid/similarity transform ``matrix`` (4, 4) applied to the points.

    ``lidar_aug_matrix <- matrix @ lidar_aug_matrix``; ``lidar2cam``/``lidar2img`` (and the
    single-camera copies MMDet3D keeps) are right-multiplied by ``inv(matrix)`` so augmented
    points still project where the original points did.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    prev = np.asarray(results.get('lidar_aug_matrix', np.eye(4)), dtype=np.float64)
    results['lidar_aug_matrix'] = matrix @ prev
    inv = np.linalg.inv(matrix)
    for key in ('lidar2cam', 'lidar2img'):
        if key in results:
            results[key] = np.asarray(results[key], dtype=np.float64) @ inv


def apply_img_aug(results: dict, cam_idx: int, img_aug: np.ndarray) -> None:
    """Record an image transform ``img_aug`` (4, 4, BEVFusion form) of camera ``cam_idx``.

    ``img_aug_matrix[i] <- img_aug @ img_aug_matrix[i]``; ``cam2img[i]`` and ``lidar2img[i]`` are
    left-multiplied by its projective form (translation scaled by depth).
    """
    img_aug = np.asarray(img_aug, dtype=np.float64)
    proj = img_aug.copy()
    proj[:2, 2] = img_aug[:2, 3]
    proj[:2, 3] = 0
    results['img_aug_matrix'][cam_idx] = img_aug @ results['img_aug_matrix'][cam_idx]
    for key in ('cam2img', 'lidar2img'):
        if key in results:
            results[key][cam_idx] = proj @ results[key][cam_idx]


def lidar2global(info: Mapping, sample: str) -> np.ndarray:
    """``(4, 4)`` float64 ``ego2global @ lidar2ego`` of an info record (MMDet3D v1.1 keys)."""
    try:
        ego2global = np.asarray(info['ego2global'], dtype=np.float64)
        lidar2ego = np.asarray(info['lidar_points']['lidar2ego'], dtype=np.float64)
    except KeyError as err:
        raise BadSampleError(
            sample, f'info key {err}', 'needed to place the frame in global coordinates'
        ) from err
    if ego2global.shape != (4, 4) or lidar2ego.shape != (4, 4):
        raise BadSampleError(
            sample,
            'ego2global / lidar_points.lidar2ego',
            f'expected 4x4, got {ego2global.shape} {lidar2ego.shape}',
        )
    return ego2global @ lidar2ego
