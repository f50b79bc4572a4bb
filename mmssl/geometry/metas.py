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
