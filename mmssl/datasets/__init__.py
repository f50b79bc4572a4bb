"""Datasets (nuScenes / KITTI, labelled or not) and the shared camera+LiDAR data pipeline."""

from . import transforms  # noqa: F401  (registers the transforms)
from .errors import BadSampleError, describe_sample
from .kitti_ssl_dataset import KittiSSLDataset
from .label_free import check_label_free_pipeline, label_dependent_transforms
from .lidarseg import (
    NUSCENES_LIDARSEG_16_CLASSES,
    NUSCENES_LIDARSEG_16_IGNORE_INDEX,
    NUSCENES_LIDARSEG_16_MAPPING,
    NUSCENES_LIDARSEG_CATEGORIES,
    SEMANTICKITTI_CLASSES,
    SEMANTICKITTI_IGNORE_INDEX,
    SEMANTICKITTI_LEARNING_MAP,
    map_nuscenes_lidarseg_to_16,
    map_semantickitti_to_19,
    read_nuscenes_lidarseg,
    read_semantickitti_label,
)
from .multi_source import MultiSourceDataset, SourceInterleavedSampler, default_source_names
from .nuscenes_seg_dataset import NuScenesSegDataset
from .nuscenes_ssl_dataset import NuScenesSSLDataset
from .ssl_dataset import SSLDatasetMixin
from .superpixels import SLICSuperpixels, SuperpixelCache, SuperpixelSource

__all__ = [
    'BadSampleError',
    'describe_sample',
    'KittiSSLDataset',
    'MultiSourceDataset',
    'SourceInterleavedSampler',
    'default_source_names',
    'NuScenesSegDataset',
    'NuScenesSSLDataset',
    'SSLDatasetMixin',
    'SLICSuperpixels',
    'SuperpixelCache',
    'SuperpixelSource',
    'check_label_free_pipeline',
    'label_dependent_transforms',
    'NUSCENES_LIDARSEG_CATEGORIES',
    'NUSCENES_LIDARSEG_16_CLASSES',
    'NUSCENES_LIDARSEG_16_IGNORE_INDEX',
    'NUSCENES_LIDARSEG_16_MAPPING',
    'SEMANTICKITTI_CLASSES',
    'SEMANTICKITTI_IGNORE_INDEX',
    'SEMANTICKITTI_LEARNING_MAP',
    'map_nuscenes_lidarseg_to_16',
    'map_semantickitti_to_19',
    'read_nuscenes_lidarseg',
    'read_semantickitti_label',
]
