"""One geometry module for the pipeline, the models and the ops (torch and numpy only).

* :mod:`.camera`: projection, ``lidar2img`` composition, depth maps, point-pixel pairs, pixel
  centres;
* :mod:`.grid`: voxel/BEV cells of points, occupancy, BEV depth/height, unique voxels;
* :mod:`.metas`: the camera matrices of a batch read from the data samples' metainfo.
"""

from .camera import (
    compose_lidar2img,
    depth_maps,
    img_aug_to_projective,
    pad_cam2img,
    pixel_centers,
    point_to_pixel,
    project_points,
)
from .grid import bev_depth_height, grid_shape, occupancy_grid, unique_voxels, voxel_coords
from .metas import (
    camera_matrices_from_metas,
    lidar2img_batch,
    lidar2img_from_meta,
    original_lidar2img_from_meta,
)

__all__ = [
    'bev_depth_height',
    'camera_matrices_from_metas',
    'compose_lidar2img',
    'depth_maps',
    'grid_shape',
    'img_aug_to_projective',
    'lidar2img_batch',
    'lidar2img_from_meta',
    'occupancy_grid',
    'original_lidar2img_from_meta',
    'pad_cam2img',
    'pixel_centers',
    'point_to_pixel',
    'project_points',
    'unique_voxels',
    'voxel_coords',
]
