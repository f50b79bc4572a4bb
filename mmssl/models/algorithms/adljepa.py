"""AD-L-JEPA: joint-embedding predictive pre-training of a LiDAR BEV encoder.

Zhu et al., "AD-L-JEPA: Self-Supervised Spatial World Models with Joint Embedding Predictive
Architecture for Autonomous Driving with LiDAR Data" (2025). Readings of the paper, with the
official code (METHOD_FACTS 3) where the paper leaves a choice open:

* Masking (Sec. III-A): :class:`~mmssl.models.maskers.BEVGuidedMasker` at the encoder's BEV
  stride, 50% of the non-empty and, independently, 50% of the empty cells. Per sample with exact
  counts by default; the official batch-wide draw and Bernoulli empty cells are the masker's
  ``nonempty_scope='batch'`` / ``empty_sampling='bernoulli'``. The pipeline's ``BEVGuidedMask``
  may draw the mask instead (same arguments).
* Encoders (Sec. III-B): the context encoder is the detector's own sparse encoder
  (``pts_voxel_encoder`` + ``pts_middle_encoder``, what fine-tuning keeps) and sees only the
  points of the visible cells; the target encoder is its EMA copy (the base's
  ``teacher=dict(source='pts_middle_encoder')``, no gradient) and sees only the points of the
  masked non-empty cells. Sec. III-A's last paragraph ("the input points sent to the encoder
  remain the same as in the original BEV-guided masking") and Sec. III's overview agree with the
  official code here. The BEV embedding is the dense ``(C, Z)`` output reshaped to ``D = C Z``
  channels. The voxel encoder is shared (parameter-free in CenterPoint/SECOND: HardSimpleVFE /
  MeanVFE).
* EMA (Sec. III-E, eq. 4 and Sec. IV-B): ``eta`` rises linearly 0.996 -> 1 over training
  (``TeacherMomentumHook(0.996, 1.0, 'linear')``). Only parameters are averaged (official); the
  BatchNorm buffers are copied from the context encoder at every update and the target encoder
  runs in eval mode, i.e. it normalises with those running statistics (deviation: the official
  target encoder normalises with its batch statistics in train mode).
* Tokens (Sec. III-C): a learnable ``mask_token`` fills every masked cell of the context map and
  a learnable ``empty_token`` every visible empty cell; the target's masked empty cells hold the
  same ``empty_token`` (official code), which so also receives gradient from the target side.
  Both ``randn``-initialised (official). Every cell is then L2-normalised over channels.
* Predictor (Sec. III-D): :class:`~mmssl.models.heads.BEVEmbeddingPredictor`, 3 x (3 x 3
  conv-BN-ReLU), L2-normalised output.
* Losses (Sec. III-E): ``lambda_jepa L_jepa + lambda_reg L_reg`` (eq. 4).
  ``L_jepa`` (eq. 1, :class:`~mmssl.models.losses.MaskedCosineLoss`) over the masked cells:
  ``alpha_0 = 0.25`` for the masked empty, ``alpha_1 = 0.75`` for the masked non-empty cells (eq.
  1's text names its index sets "unmasked"; see the loss). ``L_reg`` (eqs. 2-3,
  :class:`~mmssl.models.losses.PerSampleVarianceLoss`, per sample, ``gamma = 1 / sqrt(D)``):
  ``beta_1 v(context at the visible non-empty cells) + beta_2 v(prediction at the masked
  non-empty cells)`` (eq. 2 writes ``z_c[K_n]`` and ``s_c[Q_n]`` with ``K_n`` the masked
  non-empty cells, but its text says "unmasked non-empty grids' embeddings after the context
  encoder"; a masked cell of the context holds the mask token, so the unmasked reading is the
  only one with variance to regularise, and the official code's). The target-side ``v`` is
  logged only (``reg_target``), as the official code does.

Logged besides the losses: ``cos_dist_empty`` / ``cos_dist_nonempty`` (the two means of eq. 1)
and ``reg_target``. Collapse diagnostics of the context embedding:
:class:`~mmssl.engine.hooks.CollapseMonitorHook`.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.registry import MODELS

from .multimodal import BEVCellMasks, MultiModalSelfSupervisor

TARGET_ENCODER = 'pts_middle_encoder'


@MODELS.register_module()
class ADLJEPA(MultiModalSelfSupervisor):
    """AD-L-JEPA pre-training of a LiDAR sparse encoder (see the module docstring).

    Args:
        embed_dims: ``D``, channels of the encoder's BEV (``C x Z``: 256 for SECOND/CenterPoint's
            128 x 2, 64 for the tiny CenterPoint's 32 x 2).
        predictor: config of the predictor (default ``BEVEmbeddingPredictor(embed_dims)``).
        loss_jepa: config of eq. 1 (default ``MaskedCosineLoss()``: 0.25 / 0.75, weight 1).
        loss_reg: config of eqs. 2-3 (default ``PerSampleVarianceLoss()``: ``gamma = 1/sqrt(D)``,
            weight ``lambda_reg`` = 1, the KITTI setting; Waymo: 10).
        reg_betas: ``(beta_1, beta_2)`` of eq. 2, context and prediction terms (paper: 1, 1).
        **kwargs: of :class:`MultiModalSelfSupervisor`: the LiDAR encoders, ``lidar_masker``
            (a ``BEVGuidedMasker``, or None when the pipeline masks) and ``teacher`` (default
            ``dict(source='pts_middle_encoder', momentum=0.996)``).
    """

    def __init__(
        self,
        embed_dims: int,
        predictor: dict | None = None,
        loss_jepa: dict | None = None,
        loss_reg: dict | None = None,
        reg_betas: Sequence[float] = (1.0, 1.0),
        **kwargs,
    ) -> None:
        kwargs.setdefault('teacher', dict(source=TARGET_ENCODER, momentum=0.996))
        super().__init__(**kwargs)
        if self.with_camera or not self.with_lidar:
            raise ValueError(
                'ADLJEPA pre-trains a LiDAR encoder: set pts_voxel_encoder/pts_middle_encoder only'
            )
        if self.teacher is None or self.teacher_source != TARGET_ENCODER:
            raise ValueError(f"ADLJEPA: the target encoder is the EMA of '{TARGET_ENCODER}' (teacher.source)")
        self.embed_dims = int(embed_dims)
        self.predictor = MODELS.build(
            predictor or dict(type='BEVEmbeddingPredictor', channels=self.embed_dims)
        )
        self.loss_jepa = MODELS.build(loss_jepa or dict(type='MaskedCosineLoss'))
        self.loss_reg = MODELS.build(loss_reg or dict(type='PerSampleVarianceLoss'))
        self.reg_betas = tuple(float(b) for b in reg_betas)
        if len(self.reg_betas) != 2:
            raise ValueError(f'ADLJEPA: reg_betas needs (beta_1, beta_2), got {reg_betas}')
        self.mask_token = nn.Parameter(torch.randn(self.embed_dims))
        self.empty_token = nn.Parameter(torch.randn(self.embed_dims))

    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> Tensor:
        """Context encoder BEV ``(B, D, Y, X)`` of the (visible) points: what fine-tuning keeps."""
        return self.lidar_bev(inputs, len(data_samples))

    @staticmethod
    def _fill(bev: Tensor, where: Tensor, token: Tensor) -> Tensor:
        """``bev`` ``(B, D, Y, X)`` with ``token`` ``(D,)`` at the cells ``where`` ``(B, Y, X)``."""
        return torch.where(where[:, None], token.view(1, -1, 1, 1).to(bev.dtype), bev)

    def context_embedding(self, bev: Tensor, cells: BEVCellMasks) -> Tensor:
        """``z_c``: mask token at masked cells, empty token at visible empty cells, unit norm."""
        masked = cells.masked_nonempty | cells.masked_empty
        z = self._fill(bev, masked, self.mask_token)
        return F.normalize(self._fill(z, ~cells.nonempty & ~masked, self.empty_token), dim=1)

    def target_embedding(self, bev: Tensor, cells: BEVCellMasks) -> Tensor:
        """``s_t``: the target encoder's BEV, empty token at masked empty cells, unit norm."""
        return F.normalize(self._fill(bev, cells.masked_empty, self.empty_token), dim=1)

    @torch.no_grad()
    def target_bev(self, masked_points: List[Tensor], data_samples: Sequence) -> Tensor:
        """Target (EMA) encoder BEV ``(B, D, Y, X)`` of the masked non-empty cells' points."""
        voxels = self.data_preprocessor.voxelize(masked_points, data_samples)
        return self.lidar_bev(dict(voxels=voxels), len(data_samples), middle_encoder=self.teacher)

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """Mask, encode both views, predict the target embeddings (eqs. 1-4)."""
        masked = self.mask_inputs(inputs, data_samples)
        if not masked.lidar_masked:
            raise ValueError(
                'ADLJEPA: LiDAR is not masked: set lidar_masker (BEVGuidedMasker) or BEVGuidedMask'
            )
        bev = self.extract_feat(masked.inputs, data_samples)
        cells = self.bev_cell_masks(masked, data_samples, bev.device)
        if tuple(cells.nonempty.shape[1:]) != tuple(bev.shape[-2:]):
            raise ValueError(
                f'ADLJEPA: the mask grid {tuple(cells.nonempty.shape[1:])} is not the encoder BEV '
                f'{tuple(bev.shape[-2:])}: set the masker bev_cell_size to voxel size x BEV stride'
            )
        context = self.context_embedding(bev, cells)
        pred = self.predictor(context)
        target = self.target_embedding(self.target_bev(masked.masked_points, data_samples), cells)
        visible_nonempty = cells.nonempty & ~cells.masked_nonempty
        beta_1, beta_2 = self.reg_betas
        loss_reg = beta_1 * self.loss_reg(context, visible_nonempty) + beta_2 * self.loss_reg(
            pred, cells.masked_nonempty
        )
        with torch.no_grad():
            empty, nonempty = self.loss_jepa.terms(pred, target, cells.masked_empty, cells.masked_nonempty)
            reg_target = self.loss_reg.unweighted(target, cells.masked_nonempty)
        return {
            'loss_jepa': self.loss_jepa(pred, target, cells.masked_empty, cells.masked_nonempty),
            'loss_reg': loss_reg,
            'cos_dist_empty': empty,
            'cos_dist_nonempty': nonempty,
            'reg_target': reg_target,
        }
