"""BEV-MAE: bird's-eye-view masked autoencoding of a LiDAR voxel encoder.

Lin et al., "BEV-MAE: Bird's Eye View Masked Autoencoders for Point Cloud Pre-training in
Autonomous Driving Scenarios" (AAAI 2024). A baseline of AD-L-JEPA. Readings, with the official
code (METHOD_FACTS 6):

* Masking: BEV-guided, :class:`~mmssl.models.maskers.BEVGuidedMasker` with 70% of the non-empty
  cells and no empty cell (``ratio_empty=0``) at the encoder's BEV stride (the paper's 0.8 m =
  0.1 m voxels x 8; the tiny CenterPoint's 0.2 m x 4 = 0.8 m, the nuScenes CenterPoint's
  0.075 m x 8 = 0.6 m). Per sample by default, over the batch with ``nonempty_scope='batch'``
  (official). Drawn by the model: the masked voxels stay in the sparse input.
* Point token: every voxel of a masked cell **keeps its coordinates** and gets a shared learnable
  point token (zero-initialised, the voxel encoder's feature size) instead of its features
  (official code; the receptive field stays as in fine-tuning).
* Decoder: :class:`~mmssl.models.heads.BEVPointDecoder`, one 3 x 3 conv-BN-ReLU layer, then
  ``K = 20`` points and one density per cell.
* Targets, only at the masked cells (:func:`pillar_targets`): the points of the cell's pillar
  (cell x the range's height), at most ``max_target_points`` of them (a random subset; official
  30 with 20 predictions), as offsets from the pillar centre divided by the cell size in x, y and
  ``z / z_scale`` (official: absolute z / 6 m, the Waymo range's height; default the range's
  height); the density, the sum of the per-voxel point counts of the pillar's voxels (each
  capped by the voxeliser's ``max_num_points``) divided by the voxel columns per cell (official:
  capped at 5, divided by 64).
* Losses: :class:`~mmssl.models.losses.ChamferLoss` (squared L2) + Smooth-L1 on the density
  (MMDet's ``SmoothL1Loss``, beta 1), unweighted sum.
* Labels: none (the official pre-training disables GT sampling too).

Logged: ``masked_cells`` (masked cells per sample).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmssl.geometry import voxel_coords
from mmssl.models.maskers import BEVGuidedMasker
from mmssl.registry import MODELS

from .multimodal import MaskedInputs, MultiModalSelfSupervisor


def pillar_targets(
    points: Tensor,
    cells: Tensor,
    point_cloud_range: Sequence[float],
    cell_size: Sequence[float],
    max_points: int,
    z_scale: float,
    generator: torch.Generator | None = None,
) -> Tuple[Tensor, Tensor]:
    """Normalised points of the pillars of the selected cells (BEV-MAE's point targets).

    Args:
        points: ``(P, C)`` one cloud (x, y, z first).
        cells: ``(M, 2)`` long ``(y, x)`` cells.
        point_cloud_range: the grid's range (points outside its z extent are left out).
        cell_size: ``(dx, dy)``.
        max_points: at most this many points per pillar (a random subset when more).
        z_scale: z is divided by it.
        generator: random generator of the subsets.

    Returns:
        ``targets`` ``(M, max_points, 3)`` (``(x - x_c) / dx``, ``(y - y_c) / dy``,
        ``z / z_scale``; zero padding) and ``valid`` ``(M, max_points)`` bool.
    """
    targets = points.new_zeros(len(cells), max_points, 3)
    valid = torch.zeros(len(cells), max_points, dtype=torch.bool, device=points.device)
    if len(cells) == 0:
        return targets, valid
    coords, inside = voxel_coords(points[:, :3].double(), point_cloud_range, cell_size[:2])
    z = points[:, 2]
    inside = inside & (z >= point_cloud_range[2]) & (z < point_cloud_range[5])
    nx = round((point_cloud_range[3] - point_cloud_range[0]) / cell_size[0])
    keys = coords[:, 0] * nx + coords[:, 1]
    cell_keys = cells[:, 0] * nx + cells[:, 1]
    order = torch.argsort(cell_keys)
    pos = torch.searchsorted(cell_keys[order], keys).clamp(max=len(cells) - 1)
    idx = torch.nonzero(inside & (cell_keys[order][pos] == keys), as_tuple=True)[0]
    idx = idx[torch.randperm(idx.numel(), generator=generator).to(idx.device)]  # random subset per pillar
    row = order[pos[idx]]
    row, perm = torch.sort(row, stable=True)
    idx = idx[perm]
    first = torch.searchsorted(row, row, right=False)
    rank = torch.arange(row.numel(), device=row.device) - first
    keep = rank < max_points
    idx, row, rank = idx[keep], row[keep], rank[keep]
    dx, dy = float(cell_size[0]), float(cell_size[1])
    centre_x = point_cloud_range[0] + (cells[row, 1].to(points.dtype) + 0.5) * dx
    centre_y = point_cloud_range[1] + (cells[row, 0].to(points.dtype) + 0.5) * dy
    pts = points[idx]
    values = torch.stack([(pts[:, 0] - centre_x) / dx, (pts[:, 1] - centre_y) / dy, pts[:, 2] / z_scale], 1)
    targets[row, rank] = values
    valid[row, rank] = True
    return targets, valid


@MODELS.register_module()
class BEVMAE(MultiModalSelfSupervisor):
    """BEV-MAE pre-training of a LiDAR sparse encoder (see the module docstring).

    Args:
        decoder: config of the decoder (``BEVPointDecoder``).
        point_cloud_range: the grid's range.
        voxel_size: the encoder's input voxels (``(dx, dy, dz)``).
        point_token_dims: size of the point token (the voxel encoder's output features: 5 for
            HardSimpleVFE on x, y, z, intensity, time).
        max_target_points: target points per pillar (default 20; official 30).
        z_scale: divisor of the target z (default the range's height; official 6 m on Waymo).
        loss_chamfer: default ``ChamferLoss()``.
        loss_density: default ``mmdet.SmoothL1Loss(beta=1)``.
        **kwargs: of :class:`MultiModalSelfSupervisor`: LiDAR encoders and ``lidar_masker`` (a
            ``BEVGuidedMasker`` at the encoder's BEV cells, required).
    """

    def __init__(
        self,
        decoder: dict,
        point_cloud_range: Sequence[float],
        voxel_size: Sequence[float],
        point_token_dims: int = 5,
        max_target_points: int = 20,
        z_scale: float | None = None,
        loss_chamfer: dict | None = None,
        loss_density: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if self.with_camera or not self.with_lidar:
            raise ValueError(
                'BEVMAE pre-trains a LiDAR encoder: set pts_voxel_encoder/pts_middle_encoder only'
            )
        if not isinstance(self.lidar_masker, BEVGuidedMasker):
            raise ValueError(
                'BEVMAE needs lidar_masker=dict(type="BEVGuidedMasker", ...) (it keeps masked voxels)'
            )
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.voxel_size = [float(v) for v in voxel_size]
        cell = self.lidar_masker.bev_cell_size
        self.stride = round(cell[0] / self.voxel_size[0])
        if (
            abs(self.stride * self.voxel_size[0] - cell[0]) > 1e-6
            or abs(self.stride * self.voxel_size[1] - cell[1]) > 1e-6
        ):
            raise ValueError(
                f'BEVMAE: the mask cell {cell} must be an integer number of voxels {self.voxel_size[:2]}'
            )
        self.max_target_points = int(max_target_points)
        self.z_scale = (
            float(z_scale) if z_scale is not None else self.point_cloud_range[5] - self.point_cloud_range[2]
        )
        self.point_token = nn.Parameter(torch.zeros(int(point_token_dims)))
        self.decoder = MODELS.build(decoder)
        self.loss_chamfer = MODELS.build(loss_chamfer or dict(type='ChamferLoss'))
        self.loss_density = MODELS.build(
            loss_density or dict(type='mmdet.SmoothL1Loss', beta=1.0, loss_weight=1.0)
        )

    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor:
        """Encoder BEV ``(B, D, Y, X)`` of the unmasked voxels: what fine-tuning keeps."""
        return self.lidar_bev(inputs, len(data_samples))

    def density_target(self, voxels: dict, masked_cells: Tensor) -> Tensor:
        """``(B, Y, X)`` sum of the per-voxel point counts of each cell's voxels over the voxel
        columns per cell (``stride^2``)."""
        coors = voxels['coors']
        density = torch.zeros(masked_cells.shape, dtype=torch.float32, device=coors.device)
        index = (coors[:, 0], coors[:, 2] // self.stride, coors[:, 3] // self.stride)
        density.index_put_(index, voxels['num_points'].float(), accumulate=True)
        return density / self.stride**2

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """Mask BEV cells (voxels kept, features -> token), encode, decode points and density."""
        if all(m is not None for m in self.get_ssl_target(data_samples, 'masked_points', required=False)):
            raise ValueError(
                'BEVMAE masks in the model (masked voxels keep their coordinates); drop the pipeline mask'
            )
        results = self.lidar_masker.forward_batch(inputs['points'])
        masked = MaskedInputs(inputs, [r.masked for r in results], True, results)
        device = inputs['voxels']['coors'].device
        cells = self.bev_cell_masks(masked, data_samples, device).masked_nonempty  # (B, Y, X)
        feats, coors = self.lidar_voxel_features(inputs)
        in_masked = cells[coors[:, 0], coors[:, 2] // self.stride, coors[:, 3] // self.stride]
        feats = torch.where(in_masked[:, None], self.point_token.to(feats.dtype), feats)
        bev = self.lidar_sparse_bev(feats, coors, len(data_samples))
        if tuple(bev.shape[-2:]) != tuple(cells.shape[1:]):
            raise ValueError(
                f'BEVMAE: mask grid {tuple(cells.shape[1:])} is not the encoder BEV {tuple(bev.shape[-2:])}'
            )
        pred_points, pred_density = self.decoder(bev)
        where = torch.nonzero(cells, as_tuple=False)  # (M, 3) (b, y, x)
        targets, valid = [], []
        for b, points in enumerate(inputs['points']):
            t, v = pillar_targets(
                points,
                where[where[:, 0] == b, 1:],
                self.point_cloud_range,
                self.lidar_masker.bev_cell_size,
                self.max_target_points,
                self.z_scale,
            )
            targets.append(t)
            valid.append(v)
        pred = pred_points[where[:, 0], where[:, 1], where[:, 2]]  # (M, K, 3), ordered as where
        density = self.density_target(inputs['voxels'], cells)[where[:, 0], where[:, 1], where[:, 2]]
        return {
            'loss_chamfer': self.loss_chamfer(pred, torch.cat(targets).to(pred.dtype), torch.cat(valid)),
            'loss_density': self.loss_density(pred_density[where[:, 0], where[:, 1], where[:, 2]], density),
            'masked_cells': cells.flatten(1).sum(1).float().mean(),
        }
