"""Global LiDAR augmentations that record ``lidar_aug_matrix`` and keep ``lidar2img`` exact.

BEVFusion's recipe (Liu et al., 2023, ``BEVFusionGlobalRotScaleTrans``/``BEVFusionRandomFlip3D``):
the 3D augmentation is carried as a 4x4 matrix so that image-to-LiDAR correspondence survives.
Here, in addition, ``lidar2cam``/``lidar2img`` are updated (right-multiplied by the inverse), so
the packed ``lidar2img`` always maps *augmented* points to *augmented* pixels.
"""

from __future__ import annotations

import numpy as np
import torch
from mmdet3d.datasets.transforms import GlobalRotScaleTrans, RandomFlip3D

from mmssl.registry import TRANSFORMS

from .calibration import apply_lidar_aug


@TRANSFORMS.register_module()
class SSLGlobalRotScaleTrans(GlobalRotScaleTrans):
    """MMDet3D's ``GlobalRotScaleTrans`` (rotation about z, scaling, translation of points and
    any boxes) that records ``p' = s R p + t`` in ``lidar_aug_matrix`` and updates the
    calibration. Arguments as MMDet3D's (``rot_range`` radians, ``scale_ratio_range``,
    ``translation_std`` metres)."""

    def transform(self, input_dict: dict) -> dict:
        input_dict = super().transform(input_dict)
        rot_t = input_dict['pcd_rotation']
        rot_t = rot_t.numpy() if isinstance(rot_t, torch.Tensor) else np.asarray(rot_t)
        mat = np.eye(4)
        mat[:3, :3] = float(input_dict['pcd_scale_factor']) * rot_t.T.astype(np.float64)
        mat[:3, 3] = np.asarray(input_dict['pcd_trans'], dtype=np.float64)
        apply_lidar_aug(input_dict, mat)
        return input_dict


@TRANSFORMS.register_module()
class SSLRandomFlip3D(RandomFlip3D):
    """Random BEV flips of points (and any boxes) that record ``lidar_aug_matrix``.

    Unlike MMDet3D's ``RandomFlip3D`` it never flips images (image flips belong to
    :class:`~mmssl.datasets.transforms.ImageAug3D`, which keeps the projection exact), so the
    flips are drawn independently: horizontal (``y -> -y``) with ``flip_ratio_bev_horizontal``,
    vertical (``x -> -x``) with ``flip_ratio_bev_vertical``; preset ``pcd_horizontal_flip`` /
    ``pcd_vertical_flip`` keys are obeyed.
    """

    def __init__(
        self,
        flip_ratio_bev_horizontal: float = 0.0,
        flip_ratio_bev_vertical: float = 0.0,
        flip_box3d: bool = True,
    ) -> None:
        super().__init__(
            sync_2d=False,
            flip_ratio_bev_horizontal=flip_ratio_bev_horizontal,
            flip_ratio_bev_vertical=flip_ratio_bev_vertical,
            flip_box3d=flip_box3d,
        )

    def transform(self, input_dict: dict) -> dict:
        if 'pcd_horizontal_flip' not in input_dict:
            input_dict['pcd_horizontal_flip'] = bool(np.random.rand() < self.flip_ratio_bev_horizontal)
        if 'pcd_vertical_flip' not in input_dict:
            input_dict['pcd_vertical_flip'] = bool(np.random.rand() < self.flip_ratio_bev_vertical)
        input_dict.setdefault('transformation_3d_flow', [])
        mat = np.eye(4)
        if input_dict['pcd_horizontal_flip']:
            self.random_flip_data_3d(input_dict, 'horizontal')
            input_dict['transformation_3d_flow'].append('HF')
            mat = np.diag([1.0, -1.0, 1.0, 1.0]) @ mat
        if input_dict['pcd_vertical_flip']:
            self.random_flip_data_3d(input_dict, 'vertical')
            input_dict['transformation_3d_flow'].append('VF')
            mat = np.diag([-1.0, 1.0, 1.0, 1.0]) @ mat
        apply_lidar_aug(input_dict, mat)
        return input_dict
