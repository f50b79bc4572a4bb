"""``PackSSLInputs``: MMDet3D's packing plus calibration meta keys and SSL targets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmdet3d.datasets.transforms import Pack3DDetInputs
from mmdet3d.structures.points import BasePoints
from mmengine.structures import BaseDataElement, PixelData

from mmssl.registry import TRANSFORMS

#: Meta keys of the data contract added to MMDet3D's defaults.
SSL_META_KEYS = (
    'img_aug_matrix',
    'lidar_aug_matrix',
    'token',
    'cam_names',
    'ori_lidar2img',
    'ori_img_shape',
    'temporal_offset',
)

#: Label key packed here rather than by ``Pack3DDetInputs`` (which refuses unknown keys): the
#: ``(K, Y, X)`` bool BEV masks of ``LoadBEVMapSegmentation``, packed as ``gt_bev_seg.masks``.
BEV_SEG_KEY = 'gt_bev_seg'

#: Results keys packed into ``data_sample.ssl_targets`` when present.
SSL_TARGET_KEYS = (
    'depth_maps',
    'bev_depth',
    'bev_height',
    'bev_occupied',
    'occupancy',
    'point2pixel',
    'img_patch_mask',
    'masked_points',
    'masked_voxel_coords',
    'visible_voxel_coords',
    'bev_mask_nonempty',
    'bev_mask_empty',
    'bev_nonempty',
    'ori_img',
    'superpixels',
    'point_segments',
    'temporal_points',
    'temporal_point_segments',
)


@TRANSFORMS.register_module()
class PackSSLInputs(Pack3DDetInputs):
    """Pack a multimodal SSL sample (data contract of mmssl).

    * ``inputs['points']``: ``(N, C)`` tensor; ``inputs['img']``: ``(N_cam, 3, H, W)`` uint8
      tensor (``Det3DDataPreprocessor`` normalises and stacks it to ``imgs``
      ``(B, N_cam, 3, H, W)``).
    * ``data_sample.metainfo``: MMDet3D's meta keys plus ``img_aug_matrix`` ``(N_cam, 4, 4)``,
      ``lidar_aug_matrix`` ``(4, 4)``, ``token``, ``cam_names``, ``ori_lidar2img``,
      ``ori_img_shape`` ``(N_cam, 2)``; the
      calibration matrices (``lidar2img``, ``cam2img``, ``lidar2cam``) are ``(N_cam, 4, 4)`` numpy
      arrays of the augmented geometry.
    * ``data_sample.ssl_targets``: ``BaseDataElement`` with every key of ``ssl_keys`` present in
      the results, as tensors (see :data:`SSL_TARGET_KEYS`).
    * Labels (``gt_*`` keys) only if listed in ``keys`` (downstream detection); ``'gt_bev_seg'``
      (BEV segmentation masks ``(K, Y, X)``) becomes ``data_sample.gt_bev_seg.masks``, a bool
      tensor in a ``PixelData``.

    Args:
        keys: Input/label keys, as for ``Pack3DDetInputs``.
        meta_keys: Extra meta keys added to MMDet3D's defaults and :data:`SSL_META_KEYS`.
        ssl_keys: Target keys to pack; default :data:`SSL_TARGET_KEYS`.
    """

    def __init__(
        self,
        keys: Sequence[str] = ('points', 'img'),
        meta_keys: Sequence[str] = (),
        ssl_keys: Sequence[str] = SSL_TARGET_KEYS,
    ) -> None:
        default_meta = Pack3DDetInputs.__init__.__defaults__[0]
        all_meta = tuple(dict.fromkeys((*default_meta, *SSL_META_KEYS, *meta_keys)))
        super().__init__(keys=tuple(keys), meta_keys=all_meta)
        self.ssl_keys = tuple(ssl_keys)

    def pack_single_results(self, results: dict) -> dict:
        targets = {}
        for key in self.ssl_keys:
            if key not in results:
                continue
            value = results[key]
            if isinstance(value, BasePoints):
                value = value.tensor
            elif isinstance(value, np.ndarray):
                value = torch.from_numpy(np.ascontiguousarray(value))
            targets[key] = value
        bev_seg = results.pop(BEV_SEG_KEY, None) if BEV_SEG_KEY in self.keys else None
        packed = super().pack_single_results(results)
        packed['data_samples'].ssl_targets = BaseDataElement(**targets)
        if bev_seg is not None:
            masks = torch.as_tensor(np.ascontiguousarray(bev_seg)).bool()
            if masks.ndim != 3:
                raise ValueError(
                    f'sample {results.get("token", "?")}: {BEV_SEG_KEY} must be (K, Y, X), '
                    f'got shape {tuple(masks.shape)}'
                )
            packed['data_samples'].gt_bev_seg = PixelData(masks=masks)
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys}, ssl_keys={self.ssl_keys})'
