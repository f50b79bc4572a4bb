"""Camera projection matrices of a batch, read from the data samples' metainfo.

The data contract (``mmssl.datasets.transforms.calibration``) keeps ``lidar2img`` exact under
every augmentation: ``lidar2img @ (x, y, z, 1) = (u d, v d, d, 1)`` maps a point of the
*augmented* LiDAR frame to the continuous pixel ``(u, v)`` of the *augmented* image
(pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``) with camera depth ``d``. The LSS view
transform therefore needs ``lidar2img`` alone. When a sample has no ``lidar2img`` (e.g. raw
MMDet3D v1.1 infos), it is composed as ``cam2img @ lidar2cam`` (no augmentation).
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import torch
from torch import Tensor

from .camera import pad_cam2img


def _as_4x4(mat) -> np.ndarray:
    """float64 ``(..., 4, 4)`` of a stored (list of) 3x3 / 3x4 / 4x4 matrices."""
    return pad_cam2img(torch.as_tensor(np.asarray(mat, dtype=np.float64))).numpy()


def lidar2img_from_meta(meta: dict, num_cams: int) -> np.ndarray:
    """``(N, 4, 4)`` augmented LiDAR-to-pixel matrices of one sample.

    Raises:
        KeyError: Neither ``lidar2img`` nor ``cam2img`` + ``lidar2cam`` (names the sample).
        ValueError: Wrong number of cameras.
    """
    sample = meta.get('sample_idx', meta.get('token', '?'))
    if meta.get('lidar2img') is not None:
        mat = _as_4x4(np.stack([np.asarray(m) for m in meta['lidar2img']]))
    elif meta.get('cam2img') is not None and meta.get('lidar2cam') is not None:
        cam2img = _as_4x4(np.stack([np.asarray(m) for m in meta['cam2img']]))
        lidar2cam = _as_4x4(np.stack([np.asarray(m) for m in meta['lidar2cam']]))
        mat = cam2img @ lidar2cam
    else:
        raise KeyError(
            f'sample {sample}: metainfo has neither lidar2img nor cam2img + lidar2cam '
            f'(needed by the LSS view transform); keys present: {sorted(meta)}'
        )
    if mat.shape != (num_cams, 4, 4):
        raise ValueError(f'sample {sample}: lidar2img has shape {mat.shape}, expected ({num_cams}, 4, 4)')
    return mat


def lidar2img_batch(metas: Sequence[dict], num_cams: int, device: torch.device | str = 'cpu') -> Tensor:
    """``(B, N, 4, 4)`` float32 ``lidar2img`` of a batch (see :func:`lidar2img_from_meta`)."""
    mats = np.stack([lidar2img_from_meta(m, num_cams) for m in metas])
    return torch.as_tensor(mats, dtype=torch.float32, device=device)


def camera_matrices_from_metas(
    metas: Sequence[dict], num_cams: int, device: torch.device | str = 'cpu'
) -> Dict[str, Tensor]:
    """All camera matrices of a batch as float32 tensors.

    Returns:
        ``lidar2img`` ``(B, N, 4, 4)`` (see :func:`lidar2img_from_meta`; this is what the LSS
        view transform uses) and, as stored in the metainfo (identity where absent):
        ``cam2img``, ``lidar2cam``, ``img_aug_matrix`` ``(B, N, 4, 4)`` and
        ``lidar_aug_matrix`` ``(B, 4, 4)``. Under the pipeline's convention ``cam2img`` and
        ``lidar2cam`` already include the augmentations (``lidar2img = cam2img @ lidar2cam``);
        do not apply ``img_aug_matrix``/``lidar_aug_matrix`` to them again.
    """
    out: Dict[str, list] = {k: [] for k in ('cam2img', 'lidar2cam', 'img_aug_matrix')}
    out['lidar_aug_matrix'] = []
    for meta in metas:
        for key in ('cam2img', 'lidar2cam', 'img_aug_matrix'):
            if meta.get(key) is not None:
                out[key].append(_as_4x4(np.stack([np.asarray(m) for m in meta[key]])))
            else:
                out[key].append(np.tile(np.eye(4), (num_cams, 1, 1)))
        aug = meta.get('lidar_aug_matrix')
        out['lidar_aug_matrix'].append(np.eye(4) if aug is None else _as_4x4(np.asarray(aug)))
    mats = {k: torch.as_tensor(np.stack(v), dtype=torch.float32, device=device) for k, v in out.items()}
    mats['lidar2img'] = lidar2img_batch(metas, num_cams, device)
    return mats


def _implied_lidar_aug(meta: dict) -> bool:
    """Whether MMDet3D's ``pcd_*`` keys say the points were rotated, scaled, shifted or flipped."""
    rot = meta.get('pcd_rotation')
    if rot is not None and not np.allclose(
        np.asarray(rot, dtype=np.float64), np.eye(np.asarray(rot).shape[0])
    ):
        return True
    scale = meta.get('pcd_scale_factor')
    if scale is not None and not np.isclose(float(scale), 1.0):
        return True
    trans = meta.get('pcd_trans')
    if trans is not None and not np.allclose(np.asarray(trans, dtype=np.float64), 0.0):
        return True
    return bool(meta.get('pcd_horizontal_flip')) or bool(meta.get('pcd_vertical_flip'))


def original_lidar2img_from_meta(meta: dict, num_cams: int, input_size: Sequence[int]) -> np.ndarray:
    """``(N, 4, 4)`` float64 maps from the sample's *augmented* LiDAR frame to the pixels of its
    *un-augmented* images resized to ``input_size`` (a frozen teacher's input, e.g. the cache's).

    ``M = S @ ori_lidar2img @ inv(lidar_aug_matrix)`` with ``S = diag(W_in / W, H_in / H, 1, 1)``,
    ``(H, W) = ori_img_shape`` per camera: image augmentations of the student (``img_aug_matrix``)
    do not enter, LiDAR augmentations are undone. The keys are set by
    :class:`~mmssl.datasets.transforms.LoadSSLMultiViewImages` before any augmentation and packed
    by ``PackSSLInputs``; ``lidar_aug_matrix`` is kept by ``SSLGlobalRotScaleTrans`` /
    ``SSLRandomFlip3D`` (and any transform using ``calibration.apply_lidar_aug``).

    Raises:
        KeyError: ``ori_lidar2img``, ``ori_img_shape`` or ``lidar_aug_matrix`` is missing.
        ValueError: wrong camera count, or the ``pcd_*`` keys record a LiDAR augmentation
            (MMDet3D's ``GlobalRotScaleTrans`` / ``RandomFlip3D``) while ``lidar_aug_matrix`` is
            the identity: the points were moved by a transform that does not record its matrix.
    """
    sample = meta.get('sample_idx', meta.get('token', '?'))
    missing = [k for k in ('ori_lidar2img', 'ori_img_shape', 'lidar_aug_matrix') if meta.get(k) is None]
    if missing:
        raise KeyError(
            f'sample {sample}: metainfo lacks {missing}, needed to project points with the un-augmented '
            'calibration (set by LoadSSLMultiViewImages and packed by PackSSLInputs); '
            f'keys present: {sorted(meta)}'
        )
    ori = _as_4x4(np.stack([np.asarray(m) for m in meta['ori_lidar2img']]))
    shapes = np.asarray(meta['ori_img_shape'], dtype=np.float64).reshape(-1, 2)
    if ori.shape != (num_cams, 4, 4) or shapes.shape[0] != num_cams:
        raise ValueError(
            f'sample {sample}: ori_lidar2img {ori.shape} / ori_img_shape {shapes.shape} do not hold '
            f'{num_cams} cameras'
        )
    aug = _as_4x4(np.asarray(meta['lidar_aug_matrix']))
    if np.allclose(aug, np.eye(4)) and _implied_lidar_aug(meta):
        raise ValueError(
            f'sample {sample}: the pcd_* keys record a rotation/scale/translation/flip of the points but '
            'lidar_aug_matrix is the identity; use SSLGlobalRotScaleTrans / SSLRandomFlip3D (they record '
            'the matrix) instead of MMDet3D GlobalRotScaleTrans / RandomFlip3D'
        )
    scale = np.tile(np.eye(4), (num_cams, 1, 1))
    scale[:, 0, 0] = float(input_size[1]) / shapes[:, 1]
    scale[:, 1, 1] = float(input_size[0]) / shapes[:, 0]
    return scale @ ori @ np.linalg.inv(aug)
