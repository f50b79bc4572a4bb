"""A quick feature-quality probe of frozen BEV features: a linear class probe and the spectrum.

**Linear BEV class probe.** Every cell of a BEV feature map ``(C, Y, X)`` gets a class from
the ground-truth boxes (:func:`rasterise_boxes`): the class of a box whose footprint holds the
cell's centre, or which has its own centre in the cell (so a pedestrian smaller than a cell
still marks one); ``num_classes`` (background) elsewhere. Where boxes overlap, the smaller
box wins. A linear softmax classifier per cell (a 1x1 convolution; features standardised with
the training cells' mean and std) is fitted on the cells of the labelled training frames by
full-batch L-BFGS with class-balanced cross-entropy (weights ``n / (K n_k)`` over the K classes
present) and a small L2 penalty, and scored on the validation frames
(:func:`probe_metrics`): occupancy IoU (object vs background), per-class IoU
``TP / (TP + FP + FN)`` and their mean over the object classes present in the validation
ground truth (mIoU), cell accuracy and balanced accuracy (mean per-class recall).

**Explained-variance spectrum** (AD-L-JEPA Sec. IV-E / Fig. 6): effective rank and the
explained-variance AUC of the embeddings of non-empty cells, from
:mod:`mmssl.evaluation.functional.spectrum` (shared with the training-time collapse monitor) and
re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from mmssl.evaluation.functional.spectrum import covariance_spectrum, embedding_spectrum  # noqa: F401 (re-export)


@dataclass(frozen=True)
class BEVGrid:
    """A BEV grid over ``[x_min, x_max] x [y_min, y_max]`` with ``ny x nx`` cells, indexed ``[y, x]``."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    ny: int
    nx: int

    def cell_centres(self) -> tuple[Tensor, Tensor]:
        """Centre coordinates ``(cx, cy)``, each ``(ny, nx)``."""
        dx, dy = (self.x_max - self.x_min) / self.nx, (self.y_max - self.y_min) / self.ny
        xs = self.x_min + (torch.arange(self.nx, dtype=torch.float64) + 0.5) * dx
        ys = self.y_min + (torch.arange(self.ny, dtype=torch.float64) + 0.5) * dy
        cy, cx = torch.meshgrid(ys, xs, indexing='ij')
        return cx, cy

    def cell_index(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Cell ``(iy, ix)`` of points ``x``/``y`` ``(N,)`` and the mask of points inside the grid."""
        ix = torch.floor((x.double() - self.x_min) / (self.x_max - self.x_min) * self.nx).long()
        iy = torch.floor((y.double() - self.y_min) / (self.y_max - self.y_min) * self.ny).long()
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        return iy, ix, inside


def rasterise_boxes(boxes: Tensor, labels: Tensor, grid: BEVGrid, num_classes: int) -> Tensor:
    """Per-cell class of a frame's boxes (see the module docstring).

    Args:
        boxes: ``(M, >=7)`` LiDAR boxes ``x, y, z, x_size, y_size, z_size, yaw`` (MMDet3D).
        labels: ``(M,)`` class indices; negative labels are ignored.
        grid: The BEV grid of the feature map.
        num_classes: Number of object classes; background is ``num_classes``.

    Returns:
        ``(ny, nx)`` long tensor of classes in ``[0, num_classes]``.
    """
    target = torch.full((grid.ny, grid.nx), num_classes, dtype=torch.long)
    if boxes.numel() == 0:
        return target
    if boxes.dim() != 2 or boxes.shape[1] < 7 or labels.shape[0] != boxes.shape[0]:
        raise ValueError(
            f'boxes must be (M, >=7) with M labels, got {tuple(boxes.shape)} and {tuple(labels.shape)}'
        )
    cx, cy = grid.cell_centres()
    boxes = boxes.double()
    order = torch.argsort(boxes[:, 3] * boxes[:, 4], descending=True)  # small boxes painted last
    for i in order.tolist():
        label = int(labels[i])
        if label < 0:
            continue
        if label >= num_classes:
            raise ValueError(f'box label {label} outside [0, {num_classes})')
        x, y, _, length, width, _, yaw = boxes[i, :7].tolist()
        du, dv = cx - x, cy - y
        u = math.cos(yaw) * du + math.sin(yaw) * dv
        v = -math.sin(yaw) * du + math.cos(yaw) * dv
        target[(u.abs() <= length / 2) & (v.abs() <= width / 2)] = label
        iy, ix, inside = grid.cell_index(torch.tensor([x]), torch.tensor([y]))
        if bool(inside[0]):
            target[iy[0], ix[0]] = label
    return target


def occupied_cells(points: Tensor, grid: BEVGrid) -> Tensor:
    """``(ny, nx)`` bool: cells holding at least one point of ``points`` ``(N, >=2)``."""
    mask = torch.zeros(grid.ny, grid.nx, dtype=torch.bool)
    iy, ix, inside = grid.cell_index(points[:, 0], points[:, 1])
    mask[iy[inside], ix[inside]] = True
    return mask


@dataclass
class LinearProbe:
    """A fitted per-cell linear classifier on standardised features."""

    weight: Tensor  # (K + 1, C)
    bias: Tensor  # (K + 1,)
    mean: Tensor  # (C,)
    std: Tensor  # (C,)

    def predict(self, feats: Tensor) -> Tensor:
        """Classes ``(N,)`` of features ``(N, C)``."""
        return (((feats.float() - self.mean) / self.std) @ self.weight.T + self.bias).argmax(1)


def fit_linear_probe(
    feats: Tensor, labels: Tensor, num_classes: int, weight_decay: float = 1e-4, max_iter: int = 200
) -> LinearProbe:
    """Class-balanced softmax regression by full-batch L-BFGS.

    Args:
        feats: ``(N, C)`` cell features of the training frames.
        labels: ``(N,)`` classes in ``[0, num_classes]`` (``num_classes`` = background).
        num_classes: Number of object classes.
        weight_decay: L2 penalty on the weights.
        max_iter: L-BFGS iterations.
    """
    if feats.dim() != 2 or labels.shape != (feats.shape[0],):
        raise ValueError(
            f'feats must be (N, C) with N labels, got {tuple(feats.shape)}, {tuple(labels.shape)}'
        )
    feats = feats.float()
    mean, std = feats.mean(0), feats.std(0).clamp_min(1e-6)
    x = (feats - mean) / std
    counts = torch.bincount(labels, minlength=num_classes + 1).float()
    present = counts > 0
    class_weight = torch.zeros_like(counts)
    class_weight[present] = labels.numel() / (int(present.sum()) * counts[present])
    weight = torch.zeros(num_classes + 1, x.shape[1], requires_grad=True)
    bias = torch.zeros(num_classes + 1, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        objective = F.cross_entropy(x @ weight.T + bias, labels, weight=class_weight)
        objective = objective + weight_decay * (weight**2).sum()
        objective.backward()
        return objective

    opt.step(closure)
    return LinearProbe(weight.detach(), bias.detach(), mean, std)


def probe_metrics(pred: Tensor, target: Tensor, num_classes: int, class_names=None) -> dict:
    """Occupancy IoU, per-class IoU, mIoU, accuracy and balanced accuracy (in %).

    Args:
        pred, target: ``(N,)`` classes in ``[0, num_classes]`` (``num_classes`` = background).
        num_classes: Number of object classes.
        class_names: Names of the object classes (default ``'0'``, ``'1'``, ...).

    Returns:
        ``dict(occupancy_IoU, mIoU, accuracy, balanced_accuracy, per_class_IoU, cells)``;
        ``per_class_IoU`` holds the object classes present in ``target``, mIoU is their mean
        (None when the target has no object cell).
    """
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    bg = num_classes
    fg_p, fg_t = pred != bg, target != bg
    union = int((fg_p | fg_t).sum())
    per_class, recalls = {}, []
    for k in range(num_classes + 1):
        t, p = target == k, pred == k
        if int(t.sum()) == 0:
            continue
        recalls.append(float((t & p).sum()) / float(t.sum()))
        if k != bg:
            per_class[names[k]] = 100.0 * float((t & p).sum()) / float((t | p).sum())
    return dict(
        occupancy_IoU=100.0 * float((fg_p & fg_t).sum()) / union if union else None,
        mIoU=sum(per_class.values()) / len(per_class) if per_class else None,
        accuracy=100.0 * float((pred == target).float().mean()),
        balanced_accuracy=100.0 * sum(recalls) / len(recalls),
        per_class_IoU=per_class,
        cells=int(target.numel()),
        object_cells=int(fg_t.sum()),
    )


def plot_spectra(spectra: dict, path, title: str = '') -> None:
    """Sorted normalised eigenvalues and the cumulative explained variance, one line per entry."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, s in spectra.items():
        ratio = [max(r, 1e-12) for r in s['explained_ratio']]
        dims = range(1, len(ratio) + 1)
        label = f'{name} (erank {s["effective_rank"]:.1f}, AUC {s["auc"]:.3f})'
        axes[0].semilogy(dims, ratio, label=label)
        axes[1].plot(dims, s['cumulative'], label=label)
    axes[0].set_xlabel('component (sorted)')
    axes[0].set_ylabel('explained variance ratio')
    axes[1].set_xlabel('components')
    axes[1].set_ylabel('cumulative explained variance')
    axes[1].set_ylim(0, 1.02)
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title or 'embedding covariance spectrum')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
