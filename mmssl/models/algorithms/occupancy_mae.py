"""Occupancy-MAE: masked occupancy autoencoding of a LiDAR voxel encoder.

Min et al., "Occupancy-MAE: Self-supervised Pre-training Large-scale LiDAR Point Clouds with Masked
Occupancy Autoencoders" (arXiv:2206.09900; the official code calls it Voxel-MAE). A baseline of
AD-L-JEPA. Readings, with the official code's behaviour (METHOD_FACTS 5) as options:

* Masking (Sec. III-B): range-aware voxel masking, the ratio depending on the distance to the
  sensor, in metres: :class:`~mmssl.models.maskers.VoxelMasker` ``mode='range_aware'`` on the
  encoder's voxels (bands ``[0, 30]``, ``(30, 50]``, ``(50, inf)`` m). Masked voxels are dropped
  (no token). The official code measures the bands in voxel indices from the grid corner and
  masks about 30%: ``range_distance='corner_index', range_ratios=(0.5, 0.3, 0.3)``.
* Encoder: the detector's own sparse encoder on the visible voxels (what fine-tuning keeps).
* Decoder (Sec. III-C): :class:`~mmssl.models.heads.OccupancyDecoder3D`, transposed 3D
  convolutions from the dense encoder volume ``(C, Z, Y, X)`` to the input voxel grid.
* Target and loss (Sec. III-D): the occupancy of **every** originally non-empty voxel (visible and
  masked) on the input grid; :class:`~mmssl.models.losses.OccupancyBCELoss` over the dense grid
  (the official loss; ``pos_weight`` an option).
* Fine-tuning: the official authors fine-tune from the epoch-3 checkpoint of 30 (issues #6, #24);
  the full config saves every epoch, so ``init_from.checkpoint=.../epoch_3.pth`` chooses it.
* Labels: none (the official pre-training keeps GT-paste and CBGS on; not offered).

Logged: ``masked_occ_recall`` (the masked voxels predicted occupied) and ``occ_acc``.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import Tensor

from mmssl.geometry import occupancy_grid
from mmssl.registry import MODELS

from .multimodal import MultiModalSelfSupervisor


@MODELS.register_module()
class OccupancyMAE(MultiModalSelfSupervisor):
    """Occupancy-MAE pre-training of a LiDAR sparse encoder (see the module docstring).

    Args:
        decoder: config of the 3D decoder (``OccupancyDecoder3D``); its strides take the encoder
            volume to the occupancy grid.
        lidar_channels: ``C_L`` of the encoder's ``(B, C_L * Z_L, Y, X)`` BEV.
        point_cloud_range, voxel_size: the occupancy grid (the encoder's input voxels).
        loss_occ: config of the loss (default ``OccupancyBCELoss()``).
        **kwargs: of :class:`MultiModalSelfSupervisor`: LiDAR encoders and ``lidar_masker`` (a
            ``VoxelMasker``; None when the pipeline's ``LidarVoxelMask`` masks).
    """

    def __init__(
        self,
        decoder: dict,
        lidar_channels: int,
        point_cloud_range: Sequence[float],
        voxel_size: Sequence[float],
        loss_occ: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if self.with_camera or not self.with_lidar:
            raise ValueError(
                'OccupancyMAE pre-trains a LiDAR encoder: set pts_voxel_encoder/pts_middle_encoder only'
            )
        self.decoder = MODELS.build(decoder)
        self.lidar_channels = int(lidar_channels)
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.voxel_size = [float(v) for v in voxel_size]
        self.loss_occ = MODELS.build(loss_occ or dict(type='OccupancyBCELoss'))

    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor:
        """Encoder BEV ``(B, C_L * Z_L, Y, X)``: what fine-tuning keeps."""
        return self.lidar_bev(inputs, len(data_samples))

    def occupancy_target(self, points: List[Tensor]) -> Tensor:
        """``(B, Z, Y, X)`` bool occupancy of the clouds on the input voxel grid."""
        return torch.stack(
            [occupancy_grid(p[:, :3], self.point_cloud_range, self.voxel_size) for p in points]
        )

    def masked_voxels(self, masked, data_samples: Sequence) -> List[Tensor]:
        """``(V_m, 3)`` ``(z, y, x)`` masked voxels per sample (model masker or pipeline)."""
        if masked.lidar_masks is not None:
            return [m.masked_voxels for m in masked.lidar_masks]
        return [torch.as_tensor(v) for v in self.get_ssl_target(data_samples, 'masked_voxel_coords')]

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """Mask, encode the visible voxels, decode the occupancy of all voxels."""
        masked = self.mask_inputs(inputs, data_samples)
        if not masked.lidar_masked:
            raise ValueError(
                'OccupancyMAE: LiDAR is not masked: set lidar_masker or the LidarVoxelMask transform'
            )
        volume = self.lidar_volume(masked.inputs, len(data_samples), self.lidar_channels)
        logits = self.decoder(volume)
        target = self.occupancy_target(self.render_context(inputs, data_samples, masked).points)
        if logits.shape != target.shape:
            raise ValueError(
                f'OccupancyMAE: decoder output {tuple(logits.shape[1:])} is not the occupancy grid '
                f'{tuple(target.shape[1:])}: set the decoder strides to the encoder stride'
            )
        with torch.no_grad():
            pred = logits > 0
            hits = [
                pred[b][v[:, 0], v[:, 1], v[:, 2]]
                for b, v in enumerate(self.masked_voxels(masked, data_samples))
            ]
            hits = torch.cat(hits) if hits else pred.new_zeros(0)
            recall = hits.float().mean() if hits.numel() else logits.new_zeros(())
            acc = (pred == target).float().mean()
        return {'loss_occ': self.loss_occ(logits, target), 'masked_occ_recall': recall, 'occ_acc': acc}
