"""Pure-PyTorch operators (importable with torch alone): voxelisation, BEV pooling, rendering."""

from . import rays, volume_rendering  # noqa: F401  (NS-MAE rendering ops)
from .bev_pool import bev_pool, collapse_z, points_to_voxel_coords
from .voxelize import Voxelization, dynamic_voxelize, hard_voxelize, voxel_grid_size

__all__ = [
    'bev_pool',
    'collapse_z',
    'points_to_voxel_coords',
    'Voxelization',
    'dynamic_voxelize',
    'hard_voxelize',
    'voxel_grid_size',
]
