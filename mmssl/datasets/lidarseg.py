"""Per-point LiDAR semantic labels: the nuScenes-lidarseg format and SemanticKITTI ``.label`` files.

**nuScenes-lidarseg.** ``lidarseg/<version>/<lidar sample_data token>_lidarseg.bin`` holds one
``uint8`` label per point of the keyframe's ``.pcd.bin``, in the same order; the labels are the
indices of the 32 lidarseg categories (:data:`NUSCENES_LIDARSEG_CATEGORIES`, the ``index`` field of
the lidarseg ``category.json``). The standard benchmark merges them into 16 classes
(:data:`NUSCENES_LIDARSEG_16_CLASSES`). The indices follow MMDet3D's convention (its
``PointSegClassMapping`` and ``configs/_base_/datasets/semantickitti.py``): the valid classes are
``0 .. 15`` and every other category (noise, animal, ..., vehicle.ego) maps to the ignore index
``16 = len(classes)``; the nuScenes devkit's ``LidarsegClassMapper`` numbers the same classes
``1 .. 16`` with ``0 = ignore``.

**SemanticKITTI.** ``.label`` files hold one ``uint32`` per point: the semantic label in the lower
16 bits, the instance id in the upper 16. :data:`SEMANTICKITTI_LEARNING_MAP` is the official
learning map to the 19 benchmark classes in MMDet3D's numbering (``0 .. 18``, unlabeled /
outlier / other-structure / other-object -> ignore ``19``; the official ``semantic-kitti.yaml``
numbers them ``1 .. 19`` with ``0 = unlabeled``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import BadSampleError

__all__ = [
    'NUSCENES_LIDARSEG_CATEGORIES',
    'NUSCENES_LIDARSEG_INDEX',
    'NUSCENES_LIDARSEG_16_CLASSES',
    'NUSCENES_LIDARSEG_16_IGNORE_INDEX',
    'NUSCENES_LIDARSEG_16_MAPPING',
    'NUSCENES_LIDARSEG_16_METAINFO',
    'SEMANTICKITTI_CLASSES',
    'SEMANTICKITTI_IGNORE_INDEX',
    'SEMANTICKITTI_LEARNING_MAP',
    'lidarseg_filename',
    'map_nuscenes_lidarseg_to_16',
    'read_nuscenes_lidarseg',
    'read_semantickitti_label',
    'map_semantickitti_to_19',
]

#: The official nuScenes-lidarseg categories; a category's position is its ``index``.
NUSCENES_LIDARSEG_CATEGORIES: tuple[str, ...] = (
    'noise',
    'animal',
    'human.pedestrian.adult',
    'human.pedestrian.child',
    'human.pedestrian.construction_worker',
    'human.pedestrian.personal_mobility',
    'human.pedestrian.police_officer',
    'human.pedestrian.stroller',
    'human.pedestrian.wheelchair',
    'movable_object.barrier',
    'movable_object.debris',
    'movable_object.pushable_pullable',
    'movable_object.trafficcone',
    'static_object.bicycle_rack',
    'vehicle.bicycle',
    'vehicle.bus.bendy',
    'vehicle.bus.rigid',
    'vehicle.car',
    'vehicle.construction',
    'vehicle.emergency.ambulance',
    'vehicle.emergency.police',
    'vehicle.motorcycle',
    'vehicle.trailer',
    'vehicle.truck',
    'flat.driveable_surface',
    'flat.other',
    'flat.sidewalk',
    'flat.terrain',
    'static.manmade',
    'static.other',
    'static.vegetation',
    'vehicle.ego',
)
#: Category name -> lidarseg index.
NUSCENES_LIDARSEG_INDEX: dict[str, int] = {name: i for i, name in enumerate(NUSCENES_LIDARSEG_CATEGORIES)}

#: The 16 classes of the nuScenes lidarseg benchmark, in MMDet3D's (and the devkit's) order.
NUSCENES_LIDARSEG_16_CLASSES: tuple[str, ...] = (
    'barrier',
    'bicycle',
    'bus',
    'car',
    'construction_vehicle',
    'motorcycle',
    'pedestrian',
    'traffic_cone',
    'trailer',
    'truck',
    'driveable_surface',
    'other_flat',
    'sidewalk',
    'terrain',
    'manmade',
    'vegetation',
)
#: Label of the categories outside the benchmark (MMDet3D: ``len(classes)``).
NUSCENES_LIDARSEG_16_IGNORE_INDEX = len(NUSCENES_LIDARSEG_16_CLASSES)

# Category -> benchmark class (the devkit's ``LidarsegClassMapper.get_fine2coarse``); the
# categories not listed are ignored.
_NUSCENES_FINE_TO_COARSE = {
    'human.pedestrian.adult': 'pedestrian',
    'human.pedestrian.child': 'pedestrian',
    'human.pedestrian.construction_worker': 'pedestrian',
    'human.pedestrian.police_officer': 'pedestrian',
    'movable_object.barrier': 'barrier',
    'movable_object.trafficcone': 'traffic_cone',
    'vehicle.bicycle': 'bicycle',
    'vehicle.bus.bendy': 'bus',
    'vehicle.bus.rigid': 'bus',
    'vehicle.car': 'car',
    'vehicle.construction': 'construction_vehicle',
    'vehicle.motorcycle': 'motorcycle',
    'vehicle.trailer': 'trailer',
    'vehicle.truck': 'truck',
    'flat.driveable_surface': 'driveable_surface',
    'flat.other': 'other_flat',
    'flat.sidewalk': 'sidewalk',
    'flat.terrain': 'terrain',
    'static.manmade': 'manmade',
    'static.vegetation': 'vegetation',
}
#: lidarseg index (0 .. 31) -> benchmark label (0 .. 15, or the ignore index 16).
NUSCENES_LIDARSEG_16_MAPPING: dict[int, int] = {
    i: (
        NUSCENES_LIDARSEG_16_CLASSES.index(_NUSCENES_FINE_TO_COARSE[name])
        if name in _NUSCENES_FINE_TO_COARSE
        else NUSCENES_LIDARSEG_16_IGNORE_INDEX
    )
    for i, name in enumerate(NUSCENES_LIDARSEG_CATEGORIES)
}
#: ``metainfo`` of an MMDet3D segmentation dataset over lidarseg labels (the keys
#: ``SemanticKittiDataset.get_seg_label_mapping`` reads).
NUSCENES_LIDARSEG_16_METAINFO = dict(
    classes=NUSCENES_LIDARSEG_16_CLASSES,
    seg_label_mapping=NUSCENES_LIDARSEG_16_MAPPING,
    max_label=len(NUSCENES_LIDARSEG_CATEGORIES) - 1,
)

#: The 19 SemanticKITTI benchmark classes (official names, MMDet3D's order).
SEMANTICKITTI_CLASSES: tuple[str, ...] = (
    'car',
    'bicycle',
    'motorcycle',
    'truck',
    'other-vehicle',
    'person',
    'bicyclist',
    'motorcyclist',
    'road',
    'parking',
    'sidewalk',
    'other-ground',
    'building',
    'fence',
    'vegetation',
    'trunk',
    'terrain',
    'pole',
    'traffic-sign',
)
#: Label of the raw classes outside the benchmark.
SEMANTICKITTI_IGNORE_INDEX = len(SEMANTICKITTI_CLASSES)
#: Raw SemanticKITTI label -> benchmark label (the official learning map, moving classes merged
#: into their static class; ``0 .. 18``, ignore ``19``).
SEMANTICKITTI_LEARNING_MAP: dict[int, int] = {
    0: 19,  # unlabeled
    1: 19,  # outlier
    10: 0,  # car
    11: 1,  # bicycle
    13: 4,  # bus -> other-vehicle
    15: 2,  # motorcycle
    16: 4,  # on-rails -> other-vehicle
    18: 3,  # truck
    20: 4,  # other-vehicle
    30: 5,  # person
    31: 6,  # bicyclist
    32: 7,  # motorcyclist
    40: 8,  # road
    44: 9,  # parking
    48: 10,  # sidewalk
    49: 11,  # other-ground
    50: 12,  # building
    51: 13,  # fence
    52: 19,  # other-structure
    60: 8,  # lane-marking -> road
    70: 14,  # vegetation
    71: 15,  # trunk
    72: 16,  # terrain
    80: 17,  # pole
    81: 18,  # traffic-sign
    99: 19,  # other-object
    252: 0,  # moving-car
    253: 6,  # moving-bicyclist
    254: 5,  # moving-person
    255: 7,  # moving-motorcyclist
    256: 4,  # moving-on-rails
    257: 4,  # moving-bus
    258: 3,  # moving-truck
    259: 4,  # moving-other-vehicle
}

_UNKNOWN = -1
_UNKNOWN_SAMPLE = '<unknown sample>'


def _lookup_table(mapping: dict[int, int], dtype: type) -> np.ndarray:
    """(max key + 1,) array ``lut`` with ``lut[k] = mapping[k]`` and :data:`_UNKNOWN` elsewhere."""
    lut = np.full(max(mapping) + 1, _UNKNOWN, dtype=np.int64)
    lut[list(mapping)] = list(mapping.values())
    return lut.astype(dtype)


_NUSCENES_16_LUT = _lookup_table(NUSCENES_LIDARSEG_16_MAPPING, np.uint8)
_SEMANTICKITTI_LUT = _lookup_table(SEMANTICKITTI_LEARNING_MAP, np.int64)


def lidarseg_filename(version: str, lidar_token: str) -> str:
    """Path of a keyframe's lidarseg file relative to the dataset root.

    Args:
        version: nuScenes version folder, e.g. ``'v1.0-mini'``.
        lidar_token: token of the keyframe's LIDAR_TOP ``sample_data`` record.

    Returns:
        ``'lidarseg/<version>/<lidar_token>_lidarseg.bin'``.
    """
    return f'lidarseg/{version}/{lidar_token}_lidarseg.bin'


def map_nuscenes_lidarseg_to_16(labels: np.ndarray) -> np.ndarray:
    """Map lidarseg category indices to the 16 benchmark classes.

    Args:
        labels: (N,) integer lidarseg indices in ``0 .. 31``.

    Returns:
        (N,) uint8 labels in ``0 .. 15``, or :data:`NUSCENES_LIDARSEG_16_IGNORE_INDEX`.
    """
    labels = np.asarray(labels)
    bad = (labels < 0) | (labels >= len(NUSCENES_LIDARSEG_CATEGORIES))
    if bad.any():
        raise ValueError(
            f'lidarseg labels must lie in 0..{len(NUSCENES_LIDARSEG_CATEGORIES) - 1}; '
            f'got {np.unique(labels[bad]).tolist()}'
        )
    return _NUSCENES_16_LUT[labels]


def _check_file(path: str | Path, sample: str) -> str:
    source = f'label file {path}'
    if not os.path.isfile(path):
        raise BadSampleError(sample, source, 'does not exist')
    return source


def read_nuscenes_lidarseg(
    path: str | Path, num_points: int | None = None, sample: str = _UNKNOWN_SAMPLE
) -> np.ndarray:
    """Read a nuScenes-lidarseg ``.bin`` file.

    Args:
        path: the ``<token>_lidarseg.bin`` file.
        num_points: points of the matching ``.pcd.bin``; ``None`` skips the count check.
        sample: description of the sample for the error message (e.g.
            :func:`~mmssl.datasets.errors.describe_sample` of its info).

    Returns:
        (N,) uint8 lidarseg indices (``0 .. 31``), one per point in the point file's order.

    Raises:
        BadSampleError: the file is missing or empty, holds a number of labels other than
            ``num_points``, or a value outside the 32 lidarseg categories.
    """
    source = _check_file(path, sample)
    labels = np.fromfile(path, dtype=np.uint8)
    if num_points is not None and len(labels) != num_points:
        raise BadSampleError(
            sample,
            source,
            f'holds {len(labels)} labels (uint8, one byte per point); expected {num_points}, '
            'one per point of the point file',
        )
    if len(labels) == 0:
        raise BadSampleError(sample, source, 'holds no labels')
    bad = labels >= len(NUSCENES_LIDARSEG_CATEGORIES)
    if bad.any():
        raise BadSampleError(
            sample,
            source,
            f'holds {int(bad.sum())} labels outside the {len(NUSCENES_LIDARSEG_CATEGORIES)} lidarseg '
            f'categories (values {np.unique(labels[bad]).tolist()})',
        )
    return labels


def read_semantickitti_label(
    path: str | Path, num_points: int | None = None, sample: str = _UNKNOWN_SAMPLE
) -> tuple[np.ndarray, np.ndarray]:
    """Read a SemanticKITTI ``.label`` file.

    Args:
        path: the ``.label`` file (one little-endian uint32 per point of the ``.bin`` scan).
        num_points: points of the matching velodyne scan; ``None`` skips the count check.
        sample: description of the sample for the error message.

    Returns:
        semantic: (N,) int64 raw semantic labels (lower 16 bits), e.g. 10 = car, 252 = moving car.
        instance: (N,) int64 instance ids (upper 16 bits).

    Raises:
        BadSampleError: the file is missing or empty, its size is not a multiple of 4 bytes, or
            it holds a number of labels other than ``num_points``.
    """
    source = _check_file(path, sample)
    size = os.path.getsize(path)
    if size % 4:
        raise BadSampleError(
            sample, source, f'holds {size} bytes, not a multiple of 4 (one uint32 label per point)'
        )
    raw = np.fromfile(path, dtype='<u4')
    if num_points is not None and len(raw) != num_points:
        raise BadSampleError(
            sample,
            source,
            f'holds {len(raw)} labels (uint32, 4 bytes per point); expected {num_points}, '
            'one per point of the scan',
        )
    if len(raw) == 0:
        raise BadSampleError(sample, source, 'holds no labels')
    return (raw & 0xFFFF).astype(np.int64), (raw >> 16).astype(np.int64)


def map_semantickitti_to_19(semantic: np.ndarray, source: str = 'labels') -> np.ndarray:
    """Map raw SemanticKITTI semantic labels to the 19 benchmark classes.

    Args:
        semantic: (N,) raw semantic labels (as :func:`read_semantickitti_label` returns).
        source: what the labels are (a file name), for the error message.

    Returns:
        (N,) int64 labels in ``0 .. 18``, or :data:`SEMANTICKITTI_IGNORE_INDEX`.

    Raises:
        ValueError: a label is not in :data:`SEMANTICKITTI_LEARNING_MAP`.
    """
    semantic = np.asarray(semantic, dtype=np.int64)
    inside = (semantic >= 0) & (semantic < len(_SEMANTICKITTI_LUT))
    mapped = np.full(semantic.shape, _UNKNOWN, dtype=np.int64)
    mapped[inside] = _SEMANTICKITTI_LUT[semantic[inside]]
    unknown = mapped == _UNKNOWN
    if unknown.any():
        raise ValueError(
            f'{source}: {int(unknown.sum())} labels are not SemanticKITTI classes '
            f'(values {np.unique(semantic[unknown]).tolist()}); known: {sorted(SEMANTICKITTI_LEARNING_MAP)}'
        )
    return mapped
