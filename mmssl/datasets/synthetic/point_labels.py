"""LiDAR semantic labels of the synthetic world, in the nuScenes-lidarseg format.

Every keyframe LiDAR point gets the lidarseg index (:data:`~mmssl.datasets.lidarseg.
NUSCENES_LIDARSEG_CATEGORIES`) of the surface its ray hit: an annotated box its class's
``ClassSpec.category``, a building ``static.manmade``, the ground by its band of the road
cross-section (:func:`.road.ground_surface`): the road and the parking strip
``flat.driveable_surface``, the pavement ``flat.sidewalk``, the grass ``flat.terrain``.

Files (those of nuScenes-lidarseg): ``lidarseg/<version>/<lidar sample_data token>_lidarseg.bin``
(uint8, one label per point of the keyframe's ``.pcd.bin``, same order) and the ``lidarseg``
table (``token`` = ``sample_data_token``, ``filename``); the world's ``category`` table lists
all 32 lidarseg categories with their ``index`` (:func:`category_records`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..lidarseg import NUSCENES_LIDARSEG_CATEGORIES, NUSCENES_LIDARSEG_INDEX, lidarseg_filename
from .raycast import GROUND, RayHits
from .road import GROUND_SURFACES, ground_surface, to_road_frame
from .scene import CLASS_SPECS, SceneLayout

__all__ = [
    'BUILDING_CATEGORY',
    'SURFACE_CATEGORIES',
    'WORLD_LIDARSEG_INDICES',
    'category_records',
    'lidarseg_labels',
    'lidarseg_record',
    'write_lidarseg',
]

#: lidarseg category of the unannotated buildings.
BUILDING_CATEGORY = 'static.manmade'
#: lidarseg category of each ground band of :data:`.road.GROUND_SURFACES` (nuScenes counts a
#: parking area as driveable surface).
SURFACE_CATEGORIES = {
    'road': 'flat.driveable_surface',
    'parking': 'flat.driveable_surface',
    'pavement': 'flat.sidewalk',
    'grass': 'flat.terrain',
}
# lidarseg index per layout class (CLASS_SPECS, then the building class) and per ground band.
_CLASS_INDEX = np.array(
    [NUSCENES_LIDARSEG_INDEX[spec.category] for spec in CLASS_SPECS]
    + [NUSCENES_LIDARSEG_INDEX[BUILDING_CATEGORY]],
    dtype=np.uint8,
)
_SURFACE_INDEX = np.array(
    [NUSCENES_LIDARSEG_INDEX[SURFACE_CATEGORIES[s]] for s in GROUND_SURFACES], dtype=np.uint8
)
#: The lidarseg indices the world's points can carry.
WORLD_LIDARSEG_INDICES: tuple[int, ...] = tuple(sorted({*_CLASS_INDEX.tolist(), *_SURFACE_INDEX.tolist()}))


def lidarseg_labels(hits: RayHits, layout: SceneLayout) -> np.ndarray:
    """lidarseg index of the surface each ray hit.

    Args:
        hits: first hits of the rays in the global frame (``obj``: box index into the layout,
            ``GROUND`` or ``MISS``).
        layout: the scene (box classes, road frame).

    Returns:
        (N,) uint8 lidarseg indices; 0 (``noise``) for misses, which have no point.
    """
    labels = np.zeros(len(hits.obj), dtype=np.uint8)
    box = hits.obj >= 0
    labels[box] = _CLASS_INDEX[layout.cls[hits.obj[box]]]
    ground = hits.obj == GROUND
    if ground.any():
        y_road = to_road_frame(hits.point[ground], layout.road_origin, layout.road_yaw)[:, 1]
        labels[ground] = _SURFACE_INDEX[ground_surface(y_road)]
    return labels


def write_lidarseg(root: str | Path, version: str, lidar_token: str, labels: np.ndarray) -> str:
    """Write the labels of one keyframe sweep.

    Args:
        root: dataset root.
        version: nuScenes version folder, e.g. ``'v1.0-mini'``.
        lidar_token: token of the keyframe's LIDAR_TOP ``sample_data``.
        labels: (N,) lidarseg indices of the written points, in their order.

    Returns:
        The file name relative to ``root`` (the ``filename`` of the lidarseg record).
    """
    filename = lidarseg_filename(version, lidar_token)
    path = Path(root) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    np.asarray(labels, dtype=np.uint8).tofile(path)
    return filename


def lidarseg_record(lidar_token: str, filename: str) -> dict:
    """The ``lidarseg`` table record of a keyframe sweep (its token is the sample_data token, as
    in nuScenes-lidarseg, so ``nusc.get('lidarseg', lidar_token)`` finds it)."""
    return dict(token=lidar_token, sample_data_token=lidar_token, filename=filename)


def category_records(token_of: Callable[[str], str]) -> list[dict]:
    """The ``category`` table: the 32 lidarseg categories in index order, each with its ``index``.

    Args:
        token_of: category name -> token.

    Returns:
        Records with ``token``, ``name``, ``description`` and ``index``.
    """
    used = {spec.category: spec.name for spec in CLASS_SPECS}
    return [
        dict(
            token=token_of(name),
            name=name,
            index=index,
            description=f'synthetic {used[name]}' if name in used else f'nuScenes-lidarseg category {name}',
        )
        for index, name in enumerate(NUSCENES_LIDARSEG_CATEGORIES)
    ]
