"""BEVDet (Huang et al., 2021): camera-only BEV 3D detection.

Image-view encoder (backbone + FPN-style neck), LSS view transform to BEV (Sec. 3.2),
BEV encoder and a CenterPoint head (Sec. 3.3). It is the camera branch of
:class:`projects.BEVFusion.bevfusion.BEVFusion` without the LiDAR branch and fuser, so it
shares that class's code; this subclass only enforces the camera-only structure.
Deviations from the paper (see the README): the BEV encoder is MMDet3D's SECOND + SECONDFPN
instead of BEVDet's ResNet-style encoder + FPN-LSS, and BEVDet's BEV-space data augmentation
is the pipeline's global LiDAR augmentation (``lidar2img`` keeps the two consistent).
"""

from __future__ import annotations

from mmssl.registry import MODELS
from projects.BEVFusion.bevfusion import BEVFusion


@MODELS.register_module()
class BEVDet(BEVFusion):
    """Camera-only detector. Arguments as :class:`BEVFusion` minus the LiDAR branch.

    Inputs: ``inputs['imgs']`` ``(B, N, 3, H, W)`` and the samples' ``lidar2img``.
    """

    def __init__(
        self,
        img_backbone: dict,
        view_transform: dict,
        pts_backbone: dict,
        img_neck: dict | None = None,
        **kwargs,
    ) -> None:
        for key in ('pts_voxel_encoder', 'pts_middle_encoder', 'fusion_layer'):
            if kwargs.get(key) is not None:
                raise ValueError(f'BEVDet is camera-only; remove {key} from the config')
        super().__init__(
            img_backbone=img_backbone,
            img_neck=img_neck,
            view_transform=view_transform,
            pts_backbone=pts_backbone,
            **kwargs,
        )
