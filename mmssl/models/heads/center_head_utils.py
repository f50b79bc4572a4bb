"""Helpers over MMDet3D's ``CenterHead`` outputs shared by the distillation methods.

``CenterHead.forward_single`` is a shared conv followed by the task heads; :func:`center_head_forward`
runs the same two steps and also returns the shared conv's output (BEVDistill distils it). The
other helpers read the heads' dense outputs the way ``CenterPointBBoxCoder`` and
``CenterHead.get_targets_single`` do: peaks of the heatmaps, their sub-cell centres and boxes,
and the order in which ``get_targets`` stores the boxes of each task.
"""

from __future__ import annotations

from typing import List, NamedTuple, Sequence, Tuple

import torch
from torch import Tensor, nn

#: The regression outputs of a CenterHead task, in the order of ``loss_by_feat``'s ``anno_box``.
REG_KEYS = ('reg', 'height', 'dim', 'rot', 'vel')


def center_head_forward(head: nn.Module, x: Tensor) -> Tuple[Tensor, List[dict]]:
    """``CenterHead.forward_single`` keeping the shared conv's output.

    Args:
        head: an MMDet3D ``CenterHead``.
        x: ``(B, C, Y, X)`` BEV features.

    Returns:
        ``shared`` ``(B, C_s, Y, X)`` and one dict per task (``heatmap`` ``(B, C_t, Y, X)`` logits,
        ``reg``, ``height``, ``dim``, ``rot``, ``vel``).
    """
    shared = head.shared_conv(x)
    return shared, [task(shared) for task in head.task_heads]


def anno_box(pred: dict) -> Tensor:
    """``(B, 10, Y, X)``: the task's regression maps concatenated as ``loss_by_feat`` does."""
    return torch.cat([pred[k] for k in REG_KEYS], dim=1)


class Peaks(NamedTuple):
    """The ``k`` highest heatmap cells of a batch, over all tasks and classes.

    Attributes:
        scores: ``(B, k)`` sigmoid scores.
        labels: ``(B, k)`` class index in the head's class order (tasks concatenated).
        cells: ``(B, k)`` flat cell index ``y * X + x``.
        centers: ``(B, k, 2)`` continuous ``(x, y)`` centres in cells from the grid's corner
            (cell index plus the predicted ``reg`` offset).
        boxes: ``(B, k, 10)`` the regression outputs at the cells (:data:`REG_KEYS` order).
    """

    scores: Tensor
    labels: Tensor
    cells: Tensor
    centers: Tensor
    boxes: Tensor


def heatmap_peaks(preds: Sequence[dict], k: int) -> Peaks:
    """Top-``k`` cells by score over every task and class (no threshold, no NMS).

    Args:
        preds: per task, the dict of :func:`center_head_forward`.
        k: peaks per sample (clipped to the number of cells times classes).
    """
    scores, labels, cells, boxes = [], [], [], []
    offset = 0
    for pred in preds:
        heat = pred['heatmap'].sigmoid()
        b, c, ny, nx = heat.shape
        s, idx = heat.flatten(1).topk(min(k, c * ny * nx), dim=1)
        cell = idx % (ny * nx)
        reg = anno_box(pred).flatten(2).transpose(1, 2)  # (B, Y*X, 10)
        boxes.append(torch.gather(reg, 1, cell.unsqueeze(-1).expand(-1, -1, reg.shape[-1])))
        scores.append(s)
        labels.append(idx // (ny * nx) + offset)
        cells.append(cell)
        offset += c
    scores, labels, cells, boxes = (torch.cat(t, dim=1) for t in (scores, labels, cells, boxes))
    s, order = scores.topk(min(k, scores.shape[1]), dim=1)
    labels, cells = (torch.gather(t, 1, order) for t in (labels, cells))
    boxes = torch.gather(boxes, 1, order.unsqueeze(-1).expand(-1, -1, boxes.shape[-1]))
    nx = preds[0]['heatmap'].shape[-1]
    xy = torch.stack([cells % nx, cells // nx], dim=-1).to(boxes.dtype)
    return Peaks(s, labels, cells, xy + boxes[..., :2], boxes)


def peaks_to_boxes(
    peaks: Peaks,
    pc_range: Sequence[float],
    voxel_size: Sequence[float],
    out_size_factor: int,
    norm_bbox: bool,
) -> Tensor:
    """``(B, k, 9)`` LiDAR boxes ``(x, y, z_gravity, dx, dy, dz, yaw, vx, vy)`` of the peaks,
    decoded as ``CenterPointBBoxCoder.decode`` does."""
    b = peaks.boxes
    x = peaks.centers[..., 0] * out_size_factor * voxel_size[0] + pc_range[0]
    y = peaks.centers[..., 1] * out_size_factor * voxel_size[1] + pc_range[1]
    dims = b[..., 3:6].exp() if norm_bbox else b[..., 3:6]
    yaw = torch.atan2(b[..., 6], b[..., 7])
    return torch.cat([x[..., None], y[..., None], b[..., 2:3], dims, yaw[..., None], b[..., 8:10]], dim=-1)


def task_order(labels: Tensor, class_names: Sequence[Sequence[str]]) -> List[Tensor]:
    """Per task, the box indices in the order ``CenterHead.get_targets_single`` stores them
    (class by class of the task, each class in input order): slot ``j`` of task ``t``'s
    targets is box ``task_order(...)[t][j]``."""
    out, flag = [], 0
    for names in class_names:
        out.append(torch.cat([torch.where(labels == flag + i)[0] for i in range(len(names))]))
        flag += len(names)
    return out
