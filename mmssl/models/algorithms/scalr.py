"""ScaLR: distillation of normalised frozen-teacher features into a LiDAR encoder.

Puy et al., "Three Pillars improving Vision Foundation Model Distillation for Lidar" (CVPR 2024;
official code valeoai/ScaLR, ../shared/METHOD_FACTS.md section 8):

* teacher: a frozen DINOv2 ViT (the release: ViT-L/14, tokens of the last block *before* the final
  LayerNorm, CLS dropped, ``after_norm=False``), read at each paired point's pixel;
* student head: a linear layer from the student's features to the teacher's width
  (``point_head``, no teacher-side projector);
* loss (``distiller.py``): the mean over paired points of ``||n(s) - n(t)||_2``, ``n`` the L2
  normalisation, the norm not squared (:class:`~mmssl.models.losses.NormalizedL2Loss`). No
  contrast, no temperature, no superpixels.

Pairing: each point takes its first camera (``PointFeatureTargets(cameras='first')``, one pixel
per point). ``one_camera=True`` is ScaLR's own choice: one random camera per scan and the cloud
cut to that camera's frustum before it enters the student (re-voxelised). Deviations: the student
is the detector's sparse encoder (:mod:`.image2lidar`), not WaffleIron; the teacher is read with
bilinear interpolation of its patch map (the official code upsamples x14 with
``align_corners=True`` and reads the integer pixel). Logged: ``pairs_per_sample``,
``paired_point_share``, ``distill_cos`` (mean cosine of the pairs).
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mmssl.geometry import original_lidar2img_from_meta, point_to_pixel
from mmssl.models.target_generators.point_targets import first_camera
from mmssl.registry import MODELS

from .image2lidar import ImageToLidarDistiller, sample_maps


@MODELS.register_module()
class ScaLR(ImageToLidarDistiller):
    """ScaLR on the shared image-to-LiDAR skeleton (module docstring).

    Args:
        one_camera: one random camera per scan, the cloud cut to its frustum (ScaLR's choice).
        loss: default ``NormalizedL2Loss(loss_weight=1.0)``.
        **kwargs: of :class:`~mmssl.models.algorithms.ImageToLidarDistiller`.
    """

    def __init__(self, one_camera: bool = False, loss: dict | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.one_camera = bool(one_camera)
        self.loss_distill = MODELS.build(loss or dict(type='NormalizedL2Loss', loss_weight=1.0))

    def frustum_inputs(self, inputs: dict, data_samples: Sequence, num_cams: int) -> dict:
        """``inputs`` with each cloud cut to one random camera's frustum and re-voxelised."""
        out = dict(inputs)
        size = self.teacher_size
        kept = []
        for pts, sample in zip(inputs['points'], data_samples):
            cam = int(torch.randint(num_cams, ()).item())
            mats = original_lidar2img_from_meta(sample.metainfo, num_cams, size)[cam : cam + 1]
            rows = point_to_pixel(
                pts[:, :3].double(), torch.as_tensor(np.asarray(mats)).to(pts.device), size, self.min_depth
            )
            kept.append(pts[rows[:, 0].long()])
        out['points'] = kept
        out['voxels'] = self.data_preprocessor.voxelize(kept, data_samples)
        return out

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """``mean ||n(head(s)) - n(t)||`` over the paired points."""
        device = inputs['points'][0].device
        maps = self.teacher_maps(data_samples, device)
        if self.one_camera:
            inputs = self.frustum_inputs(inputs, data_samples, maps.shape[1])
        points = inputs['points']
        pairs = self.point_pixel_pairs(points, data_samples, self.teacher_size, maps.shape[1])
        # one pixel per point: its lowest-index camera (PointFeatureTargets' 'first' rule)
        width = max(len(p) for p in points)
        pairs = pairs.select(
            first_camera(pairs.sample * width + pairs.point, pairs.camera, len(points) * width)
        )
        emb = self.student_embeddings(inputs, data_samples)
        losses: Dict[str, Tensor] = self.pair_stats(pairs, points)
        target = sample_maps(maps, pairs)
        pred = self.gather_points(emb, pairs)
        losses['loss_distill'] = self.loss_distill(pred, target)
        with torch.no_grad():
            cos = F.cosine_similarity(pred, target, dim=1)
            losses['distill_cos'] = cos.mean() if cos.numel() else pred.new_zeros(())
        return losses
