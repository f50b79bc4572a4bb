"""BEVFusion project: camera + LiDAR BEV detector and BEV map segmentation head."""

from .bev_seg_head import BEVSegHead, rasterize_boxes_bev
from .bevfusion import BEVFusion

__all__ = ['BEVFusion', 'BEVSegHead', 'rasterize_boxes_bev']
