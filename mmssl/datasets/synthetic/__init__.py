"""Synthetic nuScenes-format world: ray-cast LiDAR and cameras of one consistent 3D scene.

``generate_world`` writes a dataset in the nuScenes v1.0 table format that the nuScenes devkit
loads; ``create_infos`` turns it (or real nuScenes) into MMDet3D v1.1 info files with MMDet3D's
own converter.
"""

from .infos import create_infos
from .raycast import GROUND, MISS, BoxSet, RayHits, cast_rays
from .scene import CLASS_SPECS, DETECTION_CLASSES
from .sensors import CAMERA_NAMES, LIDAR_PRESETS, LidarSpec, lidar_spec
from .world import generate_world, select_scene_names

__all__ = [
    'generate_world',
    'create_infos',
    'select_scene_names',
    'cast_rays',
    'BoxSet',
    'RayHits',
    'GROUND',
    'MISS',
    'CLASS_SPECS',
    'DETECTION_CLASSES',
    'CAMERA_NAMES',
    'LidarSpec',
    'LIDAR_PRESETS',
    'lidar_spec',
]
