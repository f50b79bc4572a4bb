"""PPKT: pixel-to-point knowledge transfer, as SLidR's driving re-implementation runs it.

Liu et al., "Learning from 2D: Contrastive Pixel-to-Point Knowledge Transfer for 3D Pretraining"
(arXiv 2104.04687); the driving setting is SLidR's ``config/ppkt_nuscenes.yaml``
(../shared/METHOD_FACTS.md section 11):

* image side: the frozen teacher's map, a trainable 1x1 conv to 64 channels (``image_head``),
  read bilinearly at each pair's pixel (equal to SLidR's bilinear x32 upsampling then reading,
  since a 1x1 conv commutes with bilinear interpolation), L2-normalised;
* point side: the student's point features, a 64-d projection (``point_head``), L2-normalised;
* loss: ``num_pairs = 4096`` random point-pixel pairs of the batch, InfoNCE at ``tau = 0.07``
  with the other sampled pixels as negatives (points -> pixels, one direction).

Deviations: the official image network is a MoCo-v2 ResNet-50 and the student a MinkUNet; here
the teacher is any :class:`~mmssl.models.target_generators.PointFeatureTargets` source and the
student the detector's sparse encoder (:mod:`.image2lidar`). Logged: ``pairs_per_sample``,
``paired_point_share``, ``contrast_acc`` (top-1 of the sampled pairs).
"""

from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssl.registry import MODELS

from .image2lidar import ImageToLidarDistiller, contrast_accuracy, sample_maps


@MODELS.register_module()
class PPKT(ImageToLidarDistiller):
    """PPKT on the shared image-to-LiDAR skeleton (module docstring).

    Args:
        num_pairs: pairs sampled per batch (4096).
        loss: default ``InfoNCELoss(temperature=0.07, loss_weight=1.0)``.
        **kwargs: of :class:`~mmssl.models.algorithms.ImageToLidarDistiller`.
    """

    def __init__(self, num_pairs: int = 4096, loss: dict | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if num_pairs < 2:
            raise ValueError(
                f'PPKT: num_pairs must be at least 2 (the others are negatives), got {num_pairs}'
            )
        self.num_pairs = int(num_pairs)
        self.loss_nce = MODELS.build(loss or dict(type='InfoNCELoss', temperature=0.07, loss_weight=1.0))

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """InfoNCE over ``num_pairs`` random point-pixel pairs."""
        points = inputs['points']
        maps = self.teacher_maps(data_samples, points[0].device)
        pairs = self.point_pixel_pairs(points, data_samples, self.teacher_size, maps.shape[1])
        emb = self.student_embeddings(inputs, data_samples)
        losses: Dict[str, Tensor] = self.pair_stats(pairs, points)
        if pairs.num_pairs < 2:
            losses['loss_ppkt'] = sum(e.sum() for e in emb) * 0.0
            losses['contrast_acc'] = emb[0].new_zeros(())
            return losses
        pick = torch.randperm(pairs.num_pairs, device=pairs.point.device)[: self.num_pairs]
        pairs = pairs.select(pick)
        pix = F.normalize(sample_maps(self.projected_maps(maps), pairs), dim=1)
        pts = F.normalize(self.gather_points(emb, pairs), dim=1)
        losses['loss_ppkt'] = self.loss_nce(pts, pix)
        losses['contrast_acc'] = contrast_accuracy(pts, pix)
        return losses
