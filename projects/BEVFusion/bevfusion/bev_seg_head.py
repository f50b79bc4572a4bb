"""BEV map segmentation head (BEVFusion, Liu et al. 2023, Sec. 4 "BEV map segmentation").

BEVFusion predicts, per class, a binary BEV mask on a 0.5 m grid over [-50, 50] m with a
small conv head trained with per-class sigmoid focal loss; the classes are nuScenes map
layers (drivable area, ped crossing, walkway, stop line, car park, divider). Map layers
need the nuScenes map expansion, which the synthetic world and the demo keyframe lack, so
the targets here are taken, in this order, from

1. ``data_sample.gt_bev_seg.masks`` ``(K, Y, X)`` if the pipeline provides it (e.g.
   rasterised map polygons or the synthetic world's drivable area), else
2. the ground-truth 3D boxes rasterised in BEV: cell ``k`` is positive where a box whose
   class is in ``class_groups[k]`` covers the cell centre.

The head resamples the BEV features onto the output grid (bilinear ``grid_sample``, as
BEVFusion's ``BEVGridTransform``), then applies conv-BN-ReLU blocks and a 1x1 classifier.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmssl.registry import MODELS


def rasterize_boxes_bev(boxes: Tensor, xbound: Sequence[float], ybound: Sequence[float]) -> Tensor:
    """Cells of a BEV grid whose centre lies inside any of the boxes.

    Args:
        boxes: ``(M, >=7)`` LiDAR boxes ``x, y, z, x_size, y_size, z_size, yaw`` (MMDet3D
            ``LiDARInstance3DBoxes`` convention: yaw counter-clockwise from +x).
        xbound, ybound: ``(min, max, step)`` of the grid in metres.

    Returns:
        ``(Y, X)`` bool mask.
    """
    xs = torch.arange(xbound[0] + xbound[2] / 2, xbound[1], xbound[2], device=boxes.device)
    ys = torch.arange(ybound[0] + ybound[2] / 2, ybound[1], ybound[2], device=boxes.device)
    mask = torch.zeros((len(ys), len(xs)), dtype=torch.bool, device=boxes.device)
    if boxes.numel() == 0:
        return mask
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    dx = gx.unsqueeze(0) - boxes[:, 0].view(-1, 1, 1)
    dy = gy.unsqueeze(0) - boxes[:, 1].view(-1, 1, 1)
    cos, sin = torch.cos(boxes[:, 6]).view(-1, 1, 1), torch.sin(boxes[:, 6]).view(-1, 1, 1)
    local_x = cos * dx + sin * dy
    local_y = -sin * dx + cos * dy
    inside = (local_x.abs() <= boxes[:, 3].view(-1, 1, 1) / 2) & (
        local_y.abs() <= boxes[:, 4].view(-1, 1, 1) / 2
    )
    return mask | inside.any(0)


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """Mean sigmoid focal loss (Lin et al., 2017, Eq. 5); ``alpha < 0`` disables weighting."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss.mean()


@MODELS.register_module()
class BEVSegHead(BaseModule):
    """Per-class binary BEV segmentation.

    Args:
        in_channels: Channels of the (concatenated) BEV features.
        classes: Output class names (``K``).
        class_groups: For box-rasterised targets, the detection class names of each output
            class (``{'vehicle': ['car', 'truck', ...]}``); classes not listed use their own
            name if it is a detection class. Any other class (e.g. a map layer such as
            ``'drivable_area'``) has no box target: its samples need ``gt_bev_seg.masks``.
        dataset_classes: Detection class names in label order (label index -> name).
        input_range: ``(x_min, y_min, x_max, y_max)`` covered by the input BEV features.
        xbound, ybound: ``(min, max, step)`` of the output grid (BEVFusion: ``(-50, 50, 0.5)``).
        channels: Hidden channels.
        num_convs: Conv-BN-ReLU blocks before the classifier.
        loss: ``'focal'`` (BEVFusion) or ``'bce'``.
        focal_alpha, focal_gamma: Focal-loss parameters (BEVFusion: 0.25, 2).
        loss_weight: Multiplies each class's loss.
        init_cfg: MMEngine init config.
    """

    def __init__(
        self,
        in_channels: int,
        classes: Sequence[str],
        dataset_classes: Sequence[str],
        input_range: Sequence[float],
        xbound: Sequence[float] = (-50.0, 50.0, 0.5),
        ybound: Sequence[float] = (-50.0, 50.0, 0.5),
        class_groups: Dict[str, Sequence[str]] | None = None,
        channels: int = 64,
        num_convs: int = 2,
        loss: str = 'focal',
        focal_alpha: float = 0.25,
        focal_gamma: float = 2.0,
        loss_weight: float = 1.0,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss not in ('focal', 'bce'):
            raise ValueError(f"loss must be 'focal' or 'bce', got {loss!r}")
        self.classes = list(classes)
        self.dataset_classes = list(dataset_classes)
        groups = class_groups or {}
        self.class_labels: List[List[int] | None] = []
        for name in self.classes:
            if name not in groups and name not in self.dataset_classes:
                self.class_labels.append(None)  # a map layer: targets from gt_bev_seg only
                continue
            members = list(groups.get(name, [name]))
            unknown = [m for m in members if m not in self.dataset_classes]
            if unknown:
                raise ValueError(
                    f'BEVSegHead class {name!r}: {unknown} not in dataset_classes {self.dataset_classes}'
                )
            self.class_labels.append([self.dataset_classes.index(m) for m in members])
        self.input_range = [float(v) for v in input_range]
        self.xbound = [float(v) for v in xbound]
        self.ybound = [float(v) for v in ybound]
        self.loss_type = loss
        self.focal_alpha = focal_alpha
        self.focal_gamma = focal_gamma
        self.loss_weight = loss_weight
        layers: List[nn.Module] = []
        c = in_channels
        for _ in range(num_convs):
            layers += [
                nn.Conv2d(c, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(True),
            ]
            c = channels
        layers.append(nn.Conv2d(c, len(self.classes), 1))
        self.classifier = nn.Sequential(*layers)

    def _resample(self, x: Tensor) -> Tensor:
        """Bilinearly sample ``(B, C, Y_in, X_in)`` at the output grid's cell centres."""
        x0, y0, x1, y1 = self.input_range
        xs = torch.arange(
            self.xbound[0] + self.xbound[2] / 2,
            self.xbound[1],
            self.xbound[2],
            device=x.device,
            dtype=x.dtype,
        )
        ys = torch.arange(
            self.ybound[0] + self.ybound[2] / 2,
            self.ybound[1],
            self.ybound[2],
            device=x.device,
            dtype=x.dtype,
        )
        gy, gx = torch.meshgrid((ys - y0) / (y1 - y0) * 2 - 1, (xs - x0) / (x1 - x0) * 2 - 1, indexing='ij')
        grid = torch.stack([gx, gy], -1).unsqueeze(0).expand(x.shape[0], -1, -1, -1)
        return F.grid_sample(x, grid, mode='bilinear', align_corners=False)

    def forward(self, feats: List[Tensor]) -> Tensor:
        """Logits ``(B, K, Y, X)`` on the output grid from BEV features ``[(B, C, Y', X')]``."""
        x = feats[0] if isinstance(feats, (list, tuple)) else feats
        return self.classifier(self._resample(x))

    @staticmethod
    def _gt_boxes(sample):
        """``(boxes (M, >=7), labels (M,))`` of a sample, or ``None`` if it has no boxes.

        Training samples carry ``gt_instances_3d``; test samples of MMDet3D's pipelines carry
        ``eval_ann_info`` (``gt_bboxes_3d``, ``gt_labels_3d``).
        """
        gt = sample.get('gt_instances_3d')
        if gt is not None and 'bboxes_3d' in gt:
            return gt.bboxes_3d.tensor, gt.labels_3d
        ann = sample.get('eval_ann_info')
        if ann and 'gt_bboxes_3d' in ann:
            return ann['gt_bboxes_3d'].tensor, torch.as_tensor(ann['gt_labels_3d'])
        return None

    def has_targets(self, sample) -> bool:
        """Whether :meth:`get_targets` can build this sample's target."""
        if 'gt_bev_seg' in sample:
            return True
        return all(ids is not None for ids in self.class_labels) and self._gt_boxes(sample) is not None

    def get_targets(self, batch_data_samples: list, device: torch.device) -> Tensor:
        """Binary targets ``(B, K, Y, X)`` (see the module docstring for their source)."""
        targets = []
        for sample in batch_data_samples:
            if 'gt_bev_seg' in sample:
                masks = sample.gt_bev_seg.masks.to(device).float()
            else:
                gt = self._gt_boxes(sample)
                no_box_target = [n for n, ids in zip(self.classes, self.class_labels) if ids is None]
                if no_box_target:
                    raise KeyError(
                        f'sample {sample.metainfo.get("sample_idx", "?")}: classes {no_box_target} '
                        'are not box classes and need gt_bev_seg.masks (e.g. LoadBEVMapSegmentation '
                        "in the pipeline and 'gt_bev_seg' in PackSSLInputs' keys)"
                    )
                if gt is None:
                    raise KeyError(
                        f'sample {sample.metainfo.get("sample_idx", "?")}: BEV segmentation '
                        'needs gt_bev_seg.masks, gt_instances_3d or eval_ann_info boxes'
                    )
                boxes, labels = gt[0].to(device), gt[1].to(device)
                masks = torch.stack(
                    [
                        rasterize_boxes_bev(
                            boxes[torch.isin(labels, labels.new_tensor(ids))], self.xbound, self.ybound
                        )
                        for ids in self.class_labels
                    ]
                ).float()
            targets.append(masks)
        return torch.stack(targets)

    def loss(self, feats: List[Tensor], batch_data_samples: list) -> Dict[str, Tensor]:
        """Per-class losses ``loss_seg_<class>``."""
        logits = self(feats)
        targets = self.get_targets(batch_data_samples, logits.device)
        if targets.shape != logits.shape:
            raise ValueError(
                f'BEV segmentation targets {tuple(targets.shape)} do not match '
                f'the logits {tuple(logits.shape)}'
            )
        losses = {}
        for k, name in enumerate(self.classes):
            if self.loss_type == 'focal':
                loss = sigmoid_focal_loss(logits[:, k], targets[:, k], self.focal_alpha, self.focal_gamma)
            else:
                loss = F.binary_cross_entropy_with_logits(logits[:, k], targets[:, k])
            losses[f'loss_seg_{name}'] = loss * self.loss_weight
        return losses

    def predict(self, feats: List[Tensor], batch_data_samples: list) -> list:
        """Attach ``pred_bev_seg.prob`` ``(K, Y, X)`` (and ``gt_bev_seg.masks`` when the sample
        has ground truth, for :class:`mmssl.evaluation.BEVSegMetric`)."""
        probs = self(feats).sigmoid()
        has_gt = all(self.has_targets(s) for s in batch_data_samples)
        gts = self.get_targets(batch_data_samples, probs.device) if has_gt else None
        for i, sample in enumerate(batch_data_samples):
            sample.pred_bev_seg = PixelData(prob=probs[i].detach())
            if gts is not None and 'gt_bev_seg' not in sample:
                sample.gt_bev_seg = PixelData(masks=gts[i].bool())
        return batch_data_samples
