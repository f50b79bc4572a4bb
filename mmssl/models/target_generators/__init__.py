"""Frozen target generators: 2D foundation-model teachers and their feature cache."""

from .clip import CLIPTeacher
from .detector_teacher import DetectorTeacher, DetectorTeacherOutput
from .dinov2 import DINOv2Teacher
from .feature_cache import CachedTeacherFeatures
from .image_teacher import FrozenImageTeacher
from .point_targets import PointFeatureTargets, sample_point_features
from .random_weights import random_teacher_from_config, write_random_teacher

__all__ = [
    'DetectorTeacherOutput',
    'DetectorTeacher',
    'CachedTeacherFeatures',
    'CLIPTeacher',
    'DINOv2Teacher',
    'FrozenImageTeacher',
    'PointFeatureTargets',
    'random_teacher_from_config',
    'sample_point_features',
    'write_random_teacher',
]
