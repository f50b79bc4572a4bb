"""Rotated bird's-eye-view IoU for MMDet3D's KITTI evaluation, on the CPU.

MMDet3D 1.4.0's KITTI evaluation (``mmdet3d.evaluation.functional.kitti_utils.eval``) computes
BEV and 3D overlaps with ``rotate_iou_gpu_eval``, a numba CUDA kernel, so ``KittiMetric`` fails
on a machine without a CUDA driver. :func:`kitti_rotate_iou_cpu` has the same signature and
result, computed with mmcv's CPU ``box_iou_rotated``; :mod:`mmssl.utils.compat` installs it in
place of the kernel where CUDA is unavailable.
"""

from __future__ import annotations

import numpy as np
import torch


def kitti_rotate_iou_cpu(
    boxes: np.ndarray, query_boxes: np.ndarray, criterion: int = -1, device_id: int = 0
) -> np.ndarray:
    """Overlap of rotated BEV boxes, as ``rotate_iou_gpu_eval`` computes it.

    The boxes follow the KITTI camera-frame convention of the CUDA kernel: a box's corners are
    its axis-aligned corners rotated by ``[[cos a, sin a], [-sin a, cos a]]`` about its centre,
    which is mmcv's counter-clockwise (``clockwise=False``) convention.

    Args:
        boxes: (N, 5) x, z, length, width, angle.
        query_boxes: (K, 5) same layout.
        criterion: -1 intersection over union; 0 intersection over the area of ``boxes``;
            1 intersection over the area of ``query_boxes``; any other value the intersection area.
        device_id: unused; kept for signature compatibility with the CUDA kernel.

    Returns:
        (N, K) float32 overlaps.
    """
    from mmcv.ops import box_iou_rotated

    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
    query_boxes = np.asarray(query_boxes, dtype=np.float32).reshape(-1, 5)
    n, k = len(boxes), len(query_boxes)
    if n == 0 or k == 0:
        return np.zeros((n, k), dtype=np.float32)
    b = torch.from_numpy(boxes)
    q = torch.from_numpy(query_boxes)
    if criterion == -1:
        return box_iou_rotated(b, q, mode='iou', clockwise=False).numpy()
    area_b = b[:, 2] * b[:, 3]
    area_q = q[:, 2] * q[:, 3]
    inter = box_iou_rotated(b, q, mode='iof', clockwise=False) * area_b[:, None]
    if criterion == 0:
        out = inter / area_b[:, None]
    elif criterion == 1:
        out = inter / area_q[None, :]
    else:
        out = inter
    return out.numpy().astype(np.float32)
