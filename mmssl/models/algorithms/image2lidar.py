"""The shared part of image-to-LiDAR distillation (PPKT, SLidR, ScaLR).

A frozen 2D network (the ``target_generator``: a
:class:`~mmssl.models.target_generators.PointFeatureTargets` over a live teacher or its feature
cache) gives feature maps of each camera's *un-augmented* image; every LiDAR point that lands in
an image is paired with its pixel there (:meth:`ImageToLidarDistiller.point_pixel_pairs`), and
the LiDAR student is trained to match the image features at its points. The methods differ only in
how pairs are compared (:class:`~mmssl.models.algorithms.PPKT`: InfoNCE over random pairs;
:class:`~mmssl.models.algorithms.SLidR`: InfoNCE over superpixel means;
:class:`~mmssl.models.algorithms.ScaLR`: L2 between normalised features).

Student (what fine-tuning keeps), built by the shared skeleton under the downstream model's names
so the checkpoint hands off with an identity key map, one of:

* the detector's LiDAR branch, ``pts_voxel_encoder`` + ``pts_middle_encoder`` (the
  CenterPoint/BEVFusion ``SparseEncoder``): point features are read from its BEV output,
  bilinearly at each point's ``(x, y)`` (:meth:`ImageToLidarDistiller.point_features`). Deviation:
  the official students are point-wise; on a BEV encoder the points of one cell share most of
  their feature;
* a point-wise ``backbone`` (the LiDAR segmentation model's ``MinkUNetBackbone``, as SLidR's
  MinkUNet): each point takes its voxel's output feature
  (:meth:`~mmssl.models.backbones.MultiModalEncoderMixin.lidar_point_features`).

Either way ``point_head`` projects the point features.

Pairing (SLidR's ``dataloader_nuscenes``): a point pairs with a camera when its camera depth is
above ``min_depth`` (1 m) and it lands inside the image; a point seen by two cameras gives two
pairs. The projection uses the un-augmented calibration with the LiDAR augmentation undone
(:func:`mmssl.geometry.original_lidar2img_from_meta`), so the teacher's maps (and a cache of
them) are valid under any student augmentation. With multi-sweep inputs only the keyframe's
points pair (``keyframe_time_dim``: their time lag is 0), as the cameras see the keyframe.

Labels: none.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmdet3d.structures import Det3DDataSample
from torch import Tensor

from mmssl.geometry import original_lidar2img_from_meta, point_to_pixel
from mmssl.models.target_generators.point_targets import sample_at_pixels
from mmssl.registry import MODELS

from .multimodal import MultiModalSelfSupervisor


class PointPixelPairs(NamedTuple):
    """Point-pixel pairs of a batch (``P`` pairs).

    Attributes:
        sample: ``(P,)`` long sample index.
        point: ``(P,)`` long index into the sample's points.
        camera: ``(P,)`` long camera index.
        uv: ``(P, 2)`` float continuous pixel ``(u, v)`` in the un-augmented image resized to
            ``size``.
        size: ``(H, W)`` of the image frame ``uv`` is in.
    """

    sample: Tensor
    point: Tensor
    camera: Tensor
    uv: Tensor
    size: tuple

    @property
    def num_pairs(self) -> int:
        """``P``."""
        return int(self.sample.numel())

    def select(self, index: Tensor) -> PointPixelPairs:
        """The pairs at ``index`` (bool mask or long indices)."""
        return PointPixelPairs(
            self.sample[index], self.point[index], self.camera[index], self.uv[index], self.size
        )


def sample_maps(maps: Tensor, pairs: PointPixelPairs) -> Tensor:
    """Bilinear features of ``(B, N_cam, C, h, w)`` maps at the pairs' pixels: ``(P, C)``
    (:func:`~mmssl.models.target_generators.point_targets.sample_at_pixels`)."""
    return sample_at_pixels(
        maps.flatten(0, 1), pairs.sample * maps.shape[1] + pairs.camera, pairs.uv, pairs.size
    )


@torch.no_grad()
def contrast_accuracy(query: Tensor, key: Tensor) -> Tensor:
    """Share of ``(N, D)`` query rows whose most similar key row is their own (logged, not optimised)."""
    hit = (query @ key.t()).argmax(1) == torch.arange(len(query), device=query.device)
    return hit.float().mean()


class ImageToLidarDistiller(MultiModalSelfSupervisor):
    """LiDAR student, frozen image teacher, point-pixel pairs (see the module docstring).

    Args:
        point_cloud_range: ``[x0, y0, z0, x1, y1, z1]`` the sparse encoder's BEV covers.
        point_head: config of the student's projection (e.g.
            :class:`~mmssl.models.heads.PointProjectionHead`), dropped after pre-training.
        target_generator: a :class:`~mmssl.models.target_generators.PointFeatureTargets`
            (its ``features``: the cache or the live teacher; its ``input_size``: the map frame).
        image_head: optional trainable head on the teacher maps (e.g.
            :class:`~mmssl.models.heads.PixelProjectionHead`: PPKT/SLidR's 1x1 conv).
        min_depth: pairs need a camera depth above this (m; SLidR: 1).
        keyframe_time_dim: column of the point time lag (MMDet3D's multi-sweep loading: 4);
            only points with lag 0 pair. ``None``: every point pairs (single-sweep inputs).
        **kwargs: of :class:`MultiModalSelfSupervisor` (``data_preprocessor`` with
            ``voxel=True``, ``pts_voxel_encoder``, ``pts_middle_encoder``).
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        point_head: dict,
        target_generator: dict,
        image_head: dict | None = None,
        min_depth: float = 1.0,
        keyframe_time_dim: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(target_generator=target_generator, **kwargs)
        name = type(self).__name__
        if not (self.with_lidar or self.with_point_backbone) or self.with_camera:
            raise ValueError(
                f'{name} pre-trains a LiDAR encoder: set pts_voxel_encoder/pts_middle_encoder (BEV) or a '
                'point-wise backbone, and no camera branch (the images only feed the frozen teacher)'
            )
        if not hasattr(self.target_generator, 'teacher_maps'):
            raise TypeError(
                f'{name}: target_generator must give teacher maps (PointFeatureTargets), got '
                f'{type(self.target_generator).__name__}'
            )
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.point_head = MODELS.build(point_head)
        self.image_head = MODELS.build(image_head) if image_head is not None else None
        self.min_depth = float(min_depth)
        self.keyframe_time_dim = keyframe_time_dim

    # ------------------------------------------------------------------ student
    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor | List[Tensor]:
        """The sparse encoder's BEV ``(B, C, Y, X)`` (what the detector's BEV backbone reads), or
        with a point-wise ``backbone`` the per-sample ``(N_i, C)`` point features."""
        points = self.require_input(inputs, 'points', f'{type(self).__name__} needs the LiDAR points')
        if self.with_point_backbone:
            return self.lidar_point_features(inputs, data_samples)
        return self.lidar_bev(inputs, len(points))

    def point_features(self, bev: Tensor, points: Sequence[Tensor]) -> List[Tensor]:
        """Per sample ``(N_i, C)`` BEV features bilinearly at the points' ``(x, y)``.

        Args:
            bev: ``(B, C, Y, X)`` over ``point_cloud_range`` (rows y, columns x).
            points: ``B`` tensors ``(N_i, >=2)`` in the student's (augmented) LiDAR frame.
        """
        x0, y0, _, x1, y1, _ = self.point_cloud_range
        feats = []
        for i, pts in enumerate(points):
            gx = (pts[:, 0] - x0) / (x1 - x0) * 2 - 1
            gy = (pts[:, 1] - y0) / (y1 - y0) * 2 - 1
            grid = torch.stack([gx, gy], dim=1).to(bev).view(1, 1, -1, 2)
            feats.append(F.grid_sample(bev[i : i + 1], grid, align_corners=False)[0, :, 0].t())
        return feats

    def student_embeddings(self, inputs: dict, data_samples: Sequence) -> List[Tensor]:
        """Per sample ``(N_i, D)`` projected point features of the student."""
        feats = self.extract_feat(inputs, data_samples)
        if not self.with_point_backbone:
            feats = self.point_features(feats, inputs['points'])
        return [self.point_head(f) for f in feats]

    def embed_points(self, points: Sequence[Tensor], data_samples: Sequence) -> List[Tensor]:
        """Student embeddings of another point set of the same samples (e.g. a second frame).

        The points are voxelised by the model's own preprocessor; the voxeliser's per-sample
        outputs (a point-wise backbone's ``point2voxel_map``) go to fresh samples carrying only
        ``data_samples``' metainfo, so the batch's own samples are left as they were.

        Args:
            points: ``B`` tensors ``(M_i, C)`` in the student's (augmented) LiDAR frame.
            data_samples: the batch's samples (their metainfo is copied).

        Returns:
            Per sample ``(M_i, D)`` projected point features.
        """
        samples = [Det3DDataSample(metainfo=dict(s.metainfo)) for s in data_samples]
        inputs = {'points': list(points), 'voxels': self.data_preprocessor.voxelize(list(points), samples)}
        return self.student_embeddings(inputs, samples)

    # ------------------------------------------------------------------ pairs
    def pairable(self, points: Tensor) -> Tensor:
        """``(N,)`` bool: points that may pair (inside the range; keyframe points)."""
        x0, y0, z0, x1, y1, z1 = self.point_cloud_range
        p = points[:, :3]
        keep = (p[:, 0] >= x0) & (p[:, 0] < x1) & (p[:, 1] >= y0) & (p[:, 1] < y1)
        keep &= (p[:, 2] >= z0) & (p[:, 2] < z1)
        if self.keyframe_time_dim is not None:
            if points.shape[1] <= self.keyframe_time_dim:
                raise ValueError(
                    f'{type(self).__name__}: keyframe_time_dim={self.keyframe_time_dim} but the points '
                    f'have {points.shape[1]} columns (load sweeps, or set keyframe_time_dim=None)'
                )
            keep &= points[:, self.keyframe_time_dim].abs() < 1e-6
        return keep

    def point_pixel_pairs(
        self, points: Sequence[Tensor], data_samples: Sequence, size: Sequence[int], num_cams: int
    ) -> PointPixelPairs:
        """Every (point, camera) with the point in the camera's un-augmented image.

        Args:
            points: ``B`` tensors ``(N_i, >=3)`` in the student's (augmented) LiDAR frame.
            data_samples: their samples (``ori_lidar2img``, ``ori_img_shape``, ``lidar_aug_matrix``).
            size: ``(H, W)`` frame of the returned pixels (the un-augmented image resized).
            num_cams: cameras per sample.
        """
        device = points[0].device
        parts = []
        for i, (pts, sample) in enumerate(zip(points, data_samples)):
            mats = torch.as_tensor(np.asarray(original_lidar2img_from_meta(sample.metainfo, num_cams, size)))
            idx = torch.nonzero(self.pairable(pts)).squeeze(1)
            rows = point_to_pixel(pts[idx, :3].double(), mats.to(device), size, self.min_depth)
            parts.append((torch.full_like(rows[:, 0], i), idx[rows[:, 0].long()].float(), rows[:, 1:]))
        sample = torch.cat([p[0] for p in parts]).long()
        point = torch.cat([p[1] for p in parts]).long()
        rest = torch.cat([p[2] for p in parts])
        return PointPixelPairs(sample, point, rest[:, 0].long(), rest[:, 1:3], tuple(int(s) for s in size))

    def teacher_maps(self, data_samples: Sequence, device) -> Tensor:
        """``(B, N_cam, C, h, w)`` frozen teacher maps (under ``no_grad``)."""
        with torch.no_grad():
            return self.target_generator.teacher_maps(data_samples, device).float()

    def projected_maps(self, maps: Tensor) -> Tensor:
        """``image_head`` on every camera's map: ``(B, N_cam, D, h, w)`` (identity without a head)."""
        if self.image_head is None:
            return maps
        return self.image_head(maps.flatten(0, 1)).unflatten(0, maps.shape[:2])

    @property
    def teacher_size(self) -> tuple:
        """``(H, W)`` of the teacher's input (the frame its maps cover)."""
        return tuple(int(s) for s in self.target_generator.input_size)

    @staticmethod
    def gather_points(embeddings: Sequence[Tensor], pairs: PointPixelPairs) -> Tensor:
        """``(P, D)`` student embeddings of the paired points."""
        offsets = torch.tensor([0] + [len(e) for e in embeddings], device=pairs.point.device).cumsum(0)
        return torch.cat(list(embeddings))[offsets[pairs.sample] + pairs.point]

    def pair_stats(self, pairs: PointPixelPairs, points: Sequence[Tensor]) -> Dict[str, Tensor]:
        """Logged (not optimised): pairs per sample and the share of points with a pair."""
        device = pairs.point.device
        n = sum(len(p) for p in points)
        paired = torch.unique(pairs.sample * (max(len(p) for p in points) + 1) + pairs.point).numel()
        return {
            'pairs_per_sample': torch.tensor(pairs.num_pairs / max(len(points), 1), device=device),
            'paired_point_share': torch.tensor(paired / max(n, 1), device=device),
        }
