"""BEV map segmentation IoU (BEVFusion, Liu et al. 2023, Sec. 4: per-class IoU, mean over classes).

As in BEVFusion's evaluation, each class is binarised at several thresholds, true/false
positives and false negatives are summed over the whole evaluation set, the IoU of every
threshold is computed, and a class's IoU is the maximum over the thresholds; mIoU is the mean
of the class IoUs. Optional named means over subsets of the classes (e.g. ``map_mIoU`` over
the map layers, leaving out ``vehicle``) are reported beside it.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmssl.registry import METRICS


def _field(sample, name: str, key: str):
    value = sample[name] if isinstance(sample, dict) else getattr(sample, name)
    return value[key] if isinstance(value, dict) else getattr(value, key)


@METRICS.register_module()
class BEVSegMetric(BaseMetric):
    """Per-class IoU and mIoU of binary BEV masks.

    Each data sample (model output) must hold ``pred_bev_seg.prob`` ``(K, Y, X)`` probabilities
    and ``gt_bev_seg.masks`` ``(K, Y, X)`` bool targets (``BEVSegHead.predict`` attaches both).

    Args:
        classes: Class names (``K``) for the metric keys; default ``class0 ..``.
        mean_groups: Extra metric key -> class names whose IoUs it averages, e.g.
            ``dict(map_mIoU=['drivable_area', 'carpark_area', 'walkway', 'divider'])``
            (needs ``classes``).
        thresholds: Binarisation thresholds (BEVFusion: 0.35 to 0.65 in steps of 0.05).
        collect_device, prefix: As :class:`mmengine.evaluator.BaseMetric`.

    Returns (``compute_metrics``):
        ``{'<class>/IoU': float, ..., 'mIoU': float, <mean_groups key>: float, ...}``.
    """

    default_prefix = 'BEVSeg'

    def __init__(
        self,
        classes: Sequence[str] | None = None,
        thresholds: Sequence[float] = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65),
        mean_groups: Dict[str, Sequence[str]] | None = None,
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.classes = list(classes) if classes is not None else None
        self.mean_groups = {key: list(names) for key, names in (mean_groups or {}).items()}
        for key, names in self.mean_groups.items():
            unknown = [n for n in names if n not in (self.classes or [])]
            if not names or unknown:
                raise ValueError(
                    f'BEVSegMetric mean_groups[{key!r}] = {names}: needs a non-empty subset of '
                    f'classes {self.classes}; not in classes: {unknown}'
                )
        self.thresholds = torch.tensor(list(thresholds), dtype=torch.float32)

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        """Accumulate ``(T, K)`` true positives, false positives and false negatives."""
        for sample in data_samples:
            prob = torch.as_tensor(_field(sample, 'pred_bev_seg', 'prob')).float().cpu()
            gt = torch.as_tensor(_field(sample, 'gt_bev_seg', 'masks')).bool().cpu()
            if prob.shape != gt.shape:
                raise ValueError(
                    f'pred_bev_seg.prob {tuple(prob.shape)} and gt_bev_seg.masks {tuple(gt.shape)} differ'
                )
            pred = prob.flatten(1).unsqueeze(0) >= self.thresholds.view(-1, 1, 1)  # (T, K, N)
            gt = gt.flatten(1).unsqueeze(0)
            self.results.append(
                dict(tp=(pred & gt).sum(-1), fp=(pred & ~gt).sum(-1), fn=(~pred & gt).sum(-1))
            )

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        tp = sum(r['tp'] for r in results).double()
        fp = sum(r['fp'] for r in results).double()
        fn = sum(r['fn'] for r in results).double()
        iou = (tp / (tp + fp + fn).clamp(min=1)).max(dim=0).values  # (K,)
        names = self.classes or [f'class{k}' for k in range(len(iou))]
        if len(names) != len(iou):
            raise ValueError(f'{len(names)} class names for {len(iou)} predicted classes')
        metrics = {f'{name}/IoU': float(v) for name, v in zip(names, iou)}
        metrics['mIoU'] = float(iou.mean())
        for key, members in self.mean_groups.items():
            metrics[key] = float(iou[[names.index(n) for n in members]].mean())
        return metrics
