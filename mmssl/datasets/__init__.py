"""Datasets (nuScenes / KITTI, labelled or not) and the shared camera+LiDAR data pipeline."""

from . import transforms  # noqa: F401  (registers the transforms)
from .errors import BadSampleError, describe_sample
from .kitti_ssl_dataset import KittiSSLDataset
from .label_free import check_label_free_pipeline, label_dependent_transforms
from .nuscenes_ssl_dataset import NuScenesSSLDataset
from .ssl_dataset import SSLDatasetMixin

__all__ = [
    'BadSampleError',
    'describe_sample',
    'KittiSSLDataset',
    'NuScenesSSLDataset',
    'SSLDatasetMixin',
    'check_label_free_pipeline',
    'label_dependent_transforms',
]
