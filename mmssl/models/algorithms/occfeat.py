"""OccFeat: self-supervised occupancy feature prediction for camera-only BEV networks.

Sirko-Galouchenko et al., "OccFeat: Self-supervised Occupancy Feature Prediction for Pretraining
BEV Segmentation Networks" (CVPR-W 2024; ../shared/papers/004_*.txt). The camera-only BEV
network is pre-trained to predict, on a voxel grid above its BEV map, (a) the occupancy of every
voxel from the LiDAR sweep and (b) for the occupied voxels the feature of a frozen
self-supervised image teacher (DINOv2) at the voxel centre. Readings:

* BEV network: the downstream detector's camera branch and BEV encoder (``img_backbone``,
  ``img_neck``, ``view_transform``, ``pts_backbone``, ``pts_neck`` of
  :class:`projects.BEVDet.bevdet.BEVDet`, same module names, so the checkpoint fine-tunes BEVDet
  with an identity key map). Deviation: the paper's networks are SimpleBEV (bilinear sampling of
  image features at voxel centres, then a BEV compressor) and BEVFormer; mmssl's camera
  detectors lift with LSS (depth distribution x features), so OccFeat pre-trains the network
  that is fine-tuned here. ``F_B`` is the BEV encoder's output (the neck's maps concatenated).
* Head (Sec. 3.2): :class:`~mmssl.models.heads.UnsplattingHead`, dropped after pre-training.
* Occupancy target (Sec. 3.2, Fig. 3): a voxel of the ``Z_B x H_B x W_B`` grid over
  ``point_cloud_range`` (``H_B x W_B`` = the BEV map's cells) is occupied when at least one point
  of the (single) LiDAR sweep falls inside it. Loss (eq. 2): BCE averaged over all voxels
  (:class:`~mmssl.models.losses.OccupancyBCELoss`).
* Feature target (Sec. 3.3): each occupied voxel's centre is projected into every camera's
  teacher map with the un-augmented calibration, bilinearly sampled and averaged over the
  cameras where it lands inside the image
  (:class:`~mmssl.models.target_generators.PointFeatureTargets`, ``cameras='mean'``; the teacher
  runs live or is read from the feature cache). Loss (eq. 3): the mean negative cosine
  similarity over the occupied voxels with a valid projection
  (:class:`~mmssl.models.losses.NegativeCosineLoss`), weighted by ``lambda = 0.01`` (eq. 1).
* ``L_occ`` only (Table 3's ablation, and ``lambda = 0``): ``head.feat_channels=0`` and no
  ``target_generator``; the teacher is then never run.
* Labels: none. LiDAR is an input of the loss only (targets), never of the BEV network.

Logged (not optimised): ``occ_acc``, ``occ_iou`` (logit > 0 vs target), ``occ_share`` (occupied
voxels), ``feat_cos`` (mean cosine of the valid voxels) and ``feat_valid_share`` (occupied voxels
with a projection).
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import Tensor

from mmssl.geometry import occupancy_grid
from mmssl.registry import MODELS

from .multimodal import MultiModalSelfSupervisor


@MODELS.register_module()
class OccFeat(MultiModalSelfSupervisor):
    """OccFeat pre-training of a camera-only BEV network (see the module docstring).

    Args:
        pts_backbone: the downstream detector's BEV encoder backbone (e.g. ``mmdet3d.SECOND``).
        head: config of the :class:`~mmssl.models.heads.UnsplattingHead` (its ``in_channels``
            is the BEV encoder's output width, its ``feat_channels`` the teacher's).
        point_cloud_range: ``[x0, y0, z0, x1, y1, z1]`` of the voxel grid; its x-y extent is the
            BEV map's (the view transform's ``xbound``/``ybound``).
        pts_neck: the detector's BEV encoder neck (e.g. ``mmdet3d.SECONDFPN``), optional.
        loss_occ: default ``OccupancyBCELoss()`` (eq. 2).
        loss_feat: default ``NegativeCosineLoss(loss_weight=0.01)`` (eqs. 1, 3).
        **kwargs: of :class:`MultiModalSelfSupervisor`: the camera encoders, and
            ``target_generator`` (a :class:`~mmssl.models.target_generators.PointFeatureTargets`
            on a DINOv2 teacher or its cache), required when the head predicts features.
    """

    def __init__(
        self,
        pts_backbone: dict,
        head: dict,
        point_cloud_range: Sequence[float],
        pts_neck: dict | None = None,
        loss_occ: dict | None = None,
        loss_feat: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not self.with_camera or self.with_lidar:
            raise ValueError(
                'OccFeat pre-trains a camera-only BEV network: set img_backbone/img_neck/view_transform '
                'and no pts_voxel_encoder/pts_middle_encoder (LiDAR only gives the targets)'
            )
        self.pts_backbone = MODELS.build(pts_backbone)
        self.pts_neck = MODELS.build(pts_neck) if pts_neck is not None else None
        self.head = MODELS.build(head)
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.loss_occ = MODELS.build(loss_occ or dict(type='OccupancyBCELoss'))
        self.loss_feat = MODELS.build(loss_feat or dict(type='NegativeCosineLoss', loss_weight=0.01))
        self.with_feat = self.head.feat_out is not None
        if self.with_feat and self.target_generator is None:
            raise ValueError(
                'OccFeat: the head predicts teacher features (feat_channels > 0) but there is no '
                'target_generator; set a PointFeatureTargets teacher, or head.feat_channels=0 for '
                'the occupancy-only ablation'
            )

    # ------------------------------------------------------------------ embedding
    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor:
        """``F_B`` ``(B, C, H_B, W_B)``: camera BEV -> BEV encoder, the neck's maps concatenated
        (what BEVDet's head reads; fine-tuning keeps everything up to here)."""
        x = self.pts_backbone(self.camera_bev(inputs, data_samples))
        if self.pts_neck is not None:
            x = self.pts_neck(x)
        return torch.cat(list(x), dim=1) if isinstance(x, (list, tuple)) else x

    # ------------------------------------------------------------------ targets
    def voxel_size(self, grid: Sequence[int]) -> List[float]:
        """``(dx, dy, dz)`` of the ``(Z_B, H_B, W_B)`` grid over ``point_cloud_range``."""
        r = self.point_cloud_range
        z, h, w = grid
        return [(r[3] - r[0]) / w, (r[4] - r[1]) / h, (r[5] - r[2]) / z]

    def occupancy_target(self, points: Sequence[Tensor], grid: Sequence[int]) -> Tensor:
        """``(B, Z_B, H_B, W_B)`` bool: voxels holding at least one of the sample's points."""
        size = self.voxel_size(grid)
        return torch.stack([occupancy_grid(p[:, :3], self.point_cloud_range, size) for p in points])

    def voxel_centres(self, idx: Tensor, grid: Sequence[int]) -> Tensor:
        """``(K, 3)`` x, y, z centres of voxels given as ``(K, 3)`` ``(z, y, x)`` indices."""
        size = idx.new_tensor(self.voxel_size(grid), dtype=torch.float32)
        lower = idx.new_tensor(self.point_cloud_range[:3], dtype=torch.float32)
        return lower + (idx.flip(-1).float() + 0.5) * size

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """``L_occ + lambda L_feat`` (eq. 1) and the diagnostics of the module docstring."""
        points = self.require_input(
            inputs, 'points', 'OccFeat takes its occupancy targets from the LiDAR sweep; load the points'
        )
        out = self.head(self.extract_feat(inputs, data_samples))
        grid = tuple(out.occupancy.shape[1:])
        occ = self.occupancy_target(points, grid)
        losses: Dict[str, Tensor] = {'loss_occ': self.loss_occ(out.occupancy, occ)}
        with torch.no_grad():
            pred = out.occupancy > 0
            losses['occ_acc'] = (pred == occ).float().mean()
            inter, union = (pred & occ).sum(), (pred | occ).sum()
            losses['occ_iou'] = inter.float() / union.clamp(min=1).float()
            losses['occ_share'] = occ.float().mean()
        if not self.with_feat:
            return losses
        idx = [o.nonzero() for o in occ]  # (K_i, 3) z, y, x of the occupied voxels
        targets, valid = self.generate_targets([self.voxel_centres(i, grid) for i in idx], data_samples)
        pred_feat = torch.cat([f[:, i[:, 0], i[:, 1], i[:, 2]].t() for f, i in zip(out.features, idx)])
        target = torch.cat(targets).to(pred_feat)
        valid = torch.cat(valid).to(pred_feat.device)
        losses['loss_feat'] = self.loss_feat(pred_feat, target, valid)
        with torch.no_grad():
            cos = self.loss_feat.similarity(pred_feat, target)[valid]
            losses['feat_cos'] = cos.mean() if cos.numel() else pred_feat.new_zeros(())
            losses['feat_valid_share'] = valid.float().mean() if valid.numel() else pred_feat.new_zeros(())
        return losses
