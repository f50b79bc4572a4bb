"""SLidR: superpixel-driven image-to-LiDAR distillation.

Sautier et al., "Image-to-Lidar Self-Supervised Distillation for Autonomous Driving Data"
(CVPR 2022; official code valeoai/SLidR, ../shared/METHOD_FACTS.md section 7):

* superpixels: SLIC (150 segments, compactness 6, sigma 3) of each camera image, computed once
  (``tools/make_superpixels.py``) and loaded by the pipeline (``LoadSuperpixels``) as
  ``ssl_targets.superpixels`` ``(N_cam, H_s, W_s)`` ids on the *un-augmented* image;
* image side: the frozen teacher's map, a trainable 1x1 conv to 64 channels (``image_head``),
  upsampled bilinearly to the pooling grid and L2-normalised per pixel;
* point side: the student's point features projected to 64 (``point_head``), L2-normalised;
* pooling (``loss_superpixels_average``): per (sample, camera, superpixel), the mean of the
  normalised features of its paired points and the mean of the normalised pixel features over
  *all* its pixels, not re-normalised (:func:`~mmssl.models.utils.segment_mean`); superpixels
  without a point are dropped;
* loss: ``logits = k q^T / tau`` (``tau = 0.07``), cross-entropy with the diagonal, points ->
  image, the other superpixels of the batch as negatives
  (:class:`~mmssl.models.losses.InfoNCELoss` with ``normalize=False``).

Deviations: pixels are pooled on ``pool_size`` (default: the teacher's input size) instead of the
224x416 crop, the superpixel ids resized to it with nearest-neighbour sampling (a superpixel that
covers no pooling cell is dropped as well); teacher and student as in :mod:`.image2lidar`.
Logged: ``pairs_per_sample``, ``paired_point_share``, ``superpixels_per_sample`` (kept),
``contrast_acc``.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssl.models.utils import segment_mean
from mmssl.models.utils.ssl_targets import stacked_ssl_target
from mmssl.registry import MODELS

from .image2lidar import ImageToLidarDistiller, contrast_accuracy


class SuperpixelMeans(NamedTuple):
    """Superpixel-pooled features of a batch (``K`` superpixels with a point and a pixel).

    Attributes:
        points: ``(K, D)`` mean of the normalised student embeddings of each superpoint.
        pixels: ``(K, D)`` mean of the normalised projected teacher features of its superpixel.
        sample: ``(K,)`` long sample index of each row.
        stats: logged values (pairs per sample, paired share, superpixels per sample).
        link: a zero connected to every trainable input (the loss of a batch without a pair).
    """

    points: Tensor
    pixels: Tensor
    sample: Tensor
    stats: Dict[str, Tensor]
    link: Tensor


@MODELS.register_module()
class SLidR(ImageToLidarDistiller):
    """SLidR on the shared image-to-LiDAR skeleton (module docstring).

    Args:
        pool_size: ``(H, W)`` grid the pixel features are pooled on (default: the teacher's
            input size).
        loss: default ``InfoNCELoss(temperature=0.07, loss_weight=1.0, normalize=False)``.
        **kwargs: of :class:`~mmssl.models.algorithms.ImageToLidarDistiller`.
    """

    def __init__(self, pool_size: Sequence[int] | None = None, loss: dict | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pool_size = tuple(int(s) for s in pool_size) if pool_size is not None else None
        self.loss_nce = MODELS.build(
            loss or dict(type='InfoNCELoss', temperature=0.07, loss_weight=1.0, normalize=False)
        )

    def superpixels(self, data_samples: Sequence, device) -> Tensor:
        """``(B, N_cam, H_s, W_s)`` long superpixel ids of the un-augmented images."""
        sp = stacked_ssl_target(data_samples, 'superpixels', device)
        if sp is None:
            raise KeyError(
                'SLidR needs superpixels: build them with tools/make_superpixels.py and load them with '
                'the pipeline transform LoadSuperpixels (packed to ssl_targets.superpixels)'
            )
        if sp.dim() != 4:
            raise ValueError(f'superpixels must be (B, N_cam, H, W) per batch, got {tuple(sp.shape)}')
        return sp.long()

    def pixel_segments(self, maps: Tensor, sp: Tensor, num_ids: int) -> tuple:
        """Mean normalised pixel feature of every (sample, camera, superpixel) key.

        Args:
            maps: ``(B, N, D, h, w)`` projected teacher maps.
            sp: ``(B, N, H_s, W_s)`` ids.
            num_ids: ids per image (keys are ``(b * N + n) * num_ids + id``).

        Returns:
            ``(B * N * num_ids, D)`` means and ``(B * N * num_ids,)`` pixel counts.
        """
        b, n, d = maps.shape[:3]
        size = self.pool_size or self.teacher_size
        feats = F.interpolate(maps.flatten(0, 1), size=size, mode='bilinear', align_corners=False)
        feats = F.normalize(feats, dim=1).permute(0, 2, 3, 1).reshape(-1, d)
        ids = F.interpolate(sp.flatten(0, 1)[:, None].float(), size=size, mode='nearest')[:, 0].long()
        keys = ids + torch.arange(b * n, device=ids.device).view(-1, 1, 1) * num_ids
        return segment_mean(feats, keys.reshape(-1), b * n * num_ids)

    def superpixel_means(self, inputs: dict, data_samples: List, emb: List[Tensor]) -> SuperpixelMeans:
        """Superpoint and superpixel means of the batch (superpixels with a point and a pixel).

        Args:
            inputs: the batch inputs (``points``).
            data_samples: their samples (``ssl_targets.superpixels``, the teacher's keys).
            emb: per sample ``(N_i, D)`` student point embeddings.

        Returns:
            :class:`SuperpixelMeans` of the ``K`` superpixels kept.
        """
        points = inputs['points']
        device = points[0].device
        maps = self.teacher_maps(data_samples, device)
        sp = self.superpixels(data_samples, device)
        b, n = sp.shape[:2]
        if maps.shape[:2] != (b, n):
            raise ValueError(
                f'teacher maps {tuple(maps.shape[:2])} and superpixels {(b, n)} disagree on (B, N_cam)'
            )
        pairs = self.point_pixel_pairs(points, data_samples, tuple(sp.shape[-2:]), n)
        stats: Dict[str, Tensor] = self.pair_stats(pairs, points)
        num_ids = int(sp.max().item()) + 1
        u = pairs.uv[:, 0].long().clamp(0, sp.shape[-1] - 1)
        v = pairs.uv[:, 1].long().clamp(0, sp.shape[-2] - 1)
        pair_keys = (pairs.sample * n + pairs.camera) * num_ids + sp[pairs.sample, pairs.camera, v, u]
        total = b * n * num_ids
        pts_mean, pts_count = segment_mean(
            F.normalize(self.gather_points(emb, pairs), dim=1), pair_keys, total
        )
        projected = self.projected_maps(maps)
        pix_mean, pix_count = self.pixel_segments(projected, sp, num_ids)
        keep = (pts_count > 0) & (pix_count > 0)
        row_sample = torch.arange(total, device=keep.device)[keep] // (n * num_ids)
        stats['superpixels_per_sample'] = keep.sum().float() / b
        link = sum(e.sum() for e in emb) * 0.0 + projected.sum() * 0.0
        return SuperpixelMeans(pts_mean[keep], pix_mean[keep], row_sample, stats, link)

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """InfoNCE between superpixel-pooled point and pixel features."""
        emb = self.student_embeddings(inputs, data_samples)
        k, q, _, losses, link = self.superpixel_means(inputs, data_samples, emb)
        if len(k) < 2:
            losses['loss_slidr'] = link
            losses['contrast_acc'] = k.new_zeros(())
            return losses
        losses['loss_slidr'] = self.loss_nce(k, q)
        losses['contrast_acc'] = contrast_accuracy(k, q)
        return losses
