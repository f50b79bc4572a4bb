"""CenterPoint project: MMDet3D's LiDAR-only CenterPoint with mmssl's voxeliser and init fix."""

from .centerpoint import CenterPoint

__all__ = ['CenterPoint']
