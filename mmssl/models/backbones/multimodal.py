"""The camera and LiDAR encoders shared by the detectors and every pre-training method.

:class:`MultiModalEncoderMixin` builds the encoder modules under the detector's attribute names
(``img_backbone``, ``img_neck``, ``view_transform``, ``pts_voxel_encoder``,
``pts_middle_encoder``), so a pre-training checkpoint fine-tunes a detector with an identity key
map, and runs them: camera features, camera BEV (detectors) or a camera volume on a chosen z grid
(rendering methods), LiDAR BEV or LiDAR volume.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Sequence

from torch import Tensor, nn

from mmssl.geometry import lidar2img_batch
from mmssl.registry import MODELS

from .multiview import multiview_image_features


class MultiModalEncoderMixin:
    """Build and run the camera branch and the LiDAR branch of a BEV model.

    Mixed into ``nn.Module`` subclasses (BEVFusion-family detectors and
    :class:`~mmssl.models.algorithms.MultiModalSelfSupervisor`); call :meth:`build_encoders` in
    ``__init__`` after ``super().__init__()``.
    """

    with_camera: bool
    with_lidar: bool

    def build_encoders(
        self,
        img_backbone: dict | None = None,
        img_neck: dict | None = None,
        view_transform: dict | None = None,
        pts_voxel_encoder: dict | None = None,
        pts_middle_encoder: dict | None = None,
        img_feature_level: int = 0,
        backbone: dict | None = None,
    ) -> None:
        """Build whichever branches are configured.

        Args:
            img_backbone, img_neck, view_transform: camera branch (``img_backbone`` set = with
                camera; it needs a ``view_transform``).
            pts_voxel_encoder, pts_middle_encoder: LiDAR branch (``pts_middle_encoder`` set =
                with LiDAR).
            img_feature_level: FPN level fed to the view transform.
            backbone: a point-wise LiDAR backbone instead of the BEV branch (the LiDAR
                segmentation model's ``mmdet3d.MinkUNetBackbone``: voxel features -> voxel
                features, same name as in ``projects/MinkUNet``); ``with_point_backbone``.

        Raises:
            ValueError: no branch, a camera branch without a view transform, or both LiDAR
                branches.
        """
        name = type(self).__name__
        self.with_camera = img_backbone is not None
        self.with_lidar = pts_middle_encoder is not None
        self.with_point_backbone = backbone is not None
        if not (self.with_camera or self.with_lidar or self.with_point_backbone):
            raise ValueError(
                f'{name} needs a camera branch (img_backbone) and/or a LiDAR branch (pts_middle_encoder '
                'or a point-wise backbone)'
            )
        if self.with_lidar and self.with_point_backbone:
            raise ValueError(f'{name}: set pts_middle_encoder (BEV) or backbone (point-wise), not both')
        if self.with_camera:
            if view_transform is None:
                raise ValueError(f'{name}: a camera branch needs a view_transform')
            self.img_backbone = MODELS.build(img_backbone)
            self.img_neck = MODELS.build(img_neck) if img_neck is not None else None
            self.view_transform = MODELS.build(view_transform)
        if self.with_lidar:
            self.pts_voxel_encoder = MODELS.build(pts_voxel_encoder)
            self.pts_middle_encoder = MODELS.build(pts_middle_encoder)
        if self.with_point_backbone:
            self.backbone = MODELS.build(copy.deepcopy(backbone))  # MMDet3D's edits its channel lists
        self.img_feature_level = img_feature_level

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def require_input(inputs: dict, key: str, hint: str) -> object:
        """``inputs[key]`` or a KeyError that says which branch needed it and how to provide it."""
        if key not in inputs:
            raise KeyError(f'inputs have no {key!r}: {hint}')
        return inputs[key]

    def camera_inputs(self, inputs: dict, data_samples: Sequence) -> tuple:
        """Images ``(B, N, 3, H, W)``, their features ``(B, N, C, fH, fW)`` and ``lidar2img``."""
        imgs = self.require_input(inputs, 'imgs', 'the camera branch needs images (B, N, 3, H, W)')
        feats = multiview_image_features(imgs, self.img_backbone, self.img_neck, self.img_feature_level)
        lidar2img = lidar2img_batch([s.metainfo for s in data_samples], imgs.shape[1], imgs.device)
        return imgs, feats, lidar2img

    # ------------------------------------------------------------------ camera
    def camera_bev(self, inputs: dict, data_samples: Sequence) -> Tensor:
        """Camera BEV ``(B, C_cam, Y, X)`` (the view transform's forward)."""
        _, feats, lidar2img = self.camera_inputs(inputs, data_samples)
        return self.view_transform(feats, lidar2img, inputs.get('points'))

    def camera_volume(self, inputs: dict, data_samples: Sequence, zbound: Sequence[float]) -> Tensor:
        """Camera volume ``(B, C_cam, Z, Y', X')`` pooled on ``zbound = (z_min, z_max, step)``,
        with the view transform's BEV downsampling applied per z slice (the detector's weights)."""
        _, feats, lidar2img = self.camera_inputs(inputs, data_samples)
        vol = self.view_transform.forward_volume(feats, lidar2img, inputs.get('points'), zbound=zbound)
        return self.view_transform.downsample_volume(vol['volume'])

    # ------------------------------------------------------------------ LiDAR
    def lidar_voxel_features(self, inputs: dict) -> tuple:
        """Voxel features ``(V, C_in)`` of the voxel encoder and the voxels' ``(V, 4)`` coordinates
        ``(batch, z, y, x)``, from the hard voxels ``inputs['voxels']``."""
        voxels: Dict[str, Tensor] = self.require_input(
            inputs, 'voxels', 'the LiDAR branch needs voxels; use a data preprocessor with voxel=True'
        )
        feats = self.pts_voxel_encoder(voxels['voxels'], voxels['num_points'], voxels['coors'])
        return feats, voxels['coors']

    def lidar_sparse_bev(
        self, feats: Tensor, coors: Tensor, batch_size: int, middle_encoder: nn.Module | None = None
    ) -> Tensor:
        """BEV ``(B, C_L * Z_L, Y, X)`` of the sparse encoder from voxel features.

        Args:
            feats, coors: of :meth:`lidar_voxel_features` (features possibly edited, e.g. a
                point token in masked voxels).
            batch_size: ``B``.
            middle_encoder: run this module in place of ``pts_middle_encoder`` (e.g. its EMA
                teacher); default the student's.
        """
        encoder = self.pts_middle_encoder if middle_encoder is None else middle_encoder
        bev = encoder(feats, coors, batch_size)
        return bev[0] if isinstance(bev, (list, tuple)) else bev

    def lidar_bev(self, inputs: dict, batch_size: int, middle_encoder: nn.Module | None = None) -> Tensor:
        """LiDAR BEV ``(B, C_L * Z_L, Y, X)`` of the sparse encoder from the hard voxels
        ``inputs['voxels']`` (``middle_encoder``: see :meth:`lidar_sparse_bev`)."""
        return self.lidar_sparse_bev(*self.lidar_voxel_features(inputs), batch_size, middle_encoder)

    def lidar_volume(self, inputs: dict, batch_size: int, channels: int) -> Tensor:
        """LiDAR volume ``(B, C_L, Z_L, Y, X)``: the BEV unflattened with ``C_L = channels``."""
        bev = self.lidar_bev(inputs, batch_size)
        if bev.shape[1] % channels:
            raise ValueError(
                f'LiDAR BEV has {bev.shape[1]} channels, not a multiple of lidar_channels={channels}'
            )
        return bev.view(bev.shape[0], channels, -1, *bev.shape[-2:])

    def lidar_point_features(self, inputs: dict, data_samples: Sequence) -> List[Tensor]:
        """Per sample ``(N_i, C)`` features of every point from the point-wise ``backbone``.

        The voxels are those of a point-wise voxeliser (``MinkUNetDataPreprocessor``:
        ``inputs['voxels']`` with ``voxels``/``coors``, and per sample ``batch_idx`` and
        ``point2voxel_map``); each point takes its voxel's feature.
        """
        voxels = self.require_input(
            inputs,
            'voxels',
            'the point-wise backbone needs voxels of a point-wise voxeliser (MinkUNetDataPreprocessor)',
        )
        feats = self.backbone(voxels['voxels'], voxels['coors'])
        out, offset = [], 0
        for sample in data_samples:  # voxels are concatenated in sample order
            if 'point2voxel_map' not in sample or 'batch_idx' not in sample:
                raise KeyError(
                    'the point-wise backbone needs batch_idx and point2voxel_map on each data sample: '
                    'voxelise with MinkUNetDataPreprocessor(voxel_type="minkunet")'
                )
            n = int(sample.batch_idx.numel())
            out.append(feats[offset : offset + n][sample.point2voxel_map])
            offset += n
        return out

    def encoder_bevs(self, inputs: dict, data_samples: List) -> List[Tensor]:
        """The BEV maps of the configured branches, camera first."""
        bevs = []
        if self.with_camera:
            bevs.append(self.camera_bev(inputs, data_samples))
        if self.with_lidar:
            bevs.append(self.lidar_bev(inputs, len(data_samples)))
        return bevs
