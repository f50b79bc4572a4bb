"""nuScenes v1.0 JSON tables of the synthetic world.

The schema follows the nuScenes devkit (``nuscenes.nuscenes.NuScenes``): tokens are 32-hex strings,
timestamps are microseconds, rotations are quaternions [w, x, y, z], box sizes are (w, l, h).
Static tables (category, attribute, visibility, sensor) are shared by all scenes; the other tables
are filled scene by scene and written once at the end. The category table is the one of
nuScenes-lidarseg (all 32 categories with their lidarseg ``index``, see :mod:`.point_labels`),
and ``lidarseg.json`` is written when the scenes recorded lidarseg labels.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .maps import ROAD_FRAME_KEY, write_road_frames
from .point_labels import category_records
from .scene import CLASS_SPECS
from .sensors import CAMERA_NAMES

__all__ = [
    'ATTRIBUTES',
    'VISIBILITY_LEVELS',
    'WorldTables',
    'make_token',
    'visibility_token',
    'attribute_name',
    'LOCATIONS',
]

TABLE_NAMES = (
    'category',
    'attribute',
    'visibility',
    'instance',
    'sensor',
    'calibrated_sensor',
    'ego_pose',
    'log',
    'scene',
    'sample',
    'sample_data',
    'sample_annotation',
    'map',
)
#: Written only when it has records (the devkit then loads the lidarseg labels).
OPTIONAL_TABLE_NAMES = ('lidarseg',)
ATTRIBUTES = (
    'vehicle.moving',
    'vehicle.stopped',
    'vehicle.parked',
    'cycle.with_rider',
    'cycle.without_rider',
    'pedestrian.sitting_lying_down',
    'pedestrian.standing',
    'pedestrian.moving',
)
#: nuScenes visibility tokens '1'..'4' and their levels (fraction of the box visible in the images).
VISIBILITY_LEVELS = (('1', 'v0-40', 0.4), ('2', 'v40-60', 0.6), ('3', 'v60-80', 0.8), ('4', 'v80-100', 1.01))
LOCATIONS = ('singapore-onenorth', 'boston-seaport', 'singapore-queenstown', 'singapore-hollandvillage')
SENSOR_CHANNELS = ('LIDAR_TOP',) + CAMERA_NAMES


def make_token(*parts: object) -> str:
    """Deterministic 32-hex token of its parts (e.g. ``make_token(seed, 'sample', 3, 7)``)."""
    return hashlib.md5('/'.join(str(p) for p in parts).encode()).hexdigest()


def visibility_token(fraction: float) -> str:
    """nuScenes visibility token of a visible fraction in [0, 1]."""
    for token, _, upper in VISIBILITY_LEVELS:
        if fraction < upper:
            return token
    return VISIBILITY_LEVELS[-1][0]


def attribute_name(class_name: str, moving: bool) -> str | None:
    """nuScenes attribute of a box (``None`` for barriers and traffic cones, as in nuScenes)."""
    if class_name in ('barrier', 'traffic_cone'):
        return None
    if class_name == 'pedestrian':
        return 'pedestrian.moving' if moving else 'pedestrian.standing'
    if class_name in ('bicycle', 'motorcycle'):
        return 'cycle.with_rider' if moving else 'cycle.without_rider'
    return 'vehicle.moving' if moving else 'vehicle.parked'


class WorldTables:
    """Accumulates the records of all tables.

    Args:
        seed: world seed, part of every token so that worlds of different seeds never share tokens.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.tables: dict[str, list[dict]] = {name: [] for name in TABLE_NAMES + OPTIONAL_TABLE_NAMES}
        #: One road-frame record per scene (``maps/road_frames.json``, see :mod:`.maps`).
        self.road_frames: list[dict] = []
        self.tables['category'] = category_records(self.category_token_of)
        self.tables['attribute'] = [
            dict(token=self.attribute_token(name), name=name, description=name) for name in ATTRIBUTES
        ]
        self.tables['visibility'] = [
            dict(token=token, level=level, description=f'visibility of whole object is {level}')
            for token, level, _ in VISIBILITY_LEVELS
        ]
        self.tables['sensor'] = [
            dict(
                token=self.sensor_token(ch),
                channel=ch,
                modality='lidar' if ch.startswith('LIDAR') else 'camera',
            )
            for ch in SENSOR_CHANNELS
        ]

    def token(self, *parts: object) -> str:
        """Token of a record of this world."""
        return make_token(self.seed, *parts)

    def category_token(self, cls: int) -> str:
        """Token of the category of class ``cls`` of ``CLASS_SPECS``."""
        return self.token('category', cls)

    def category_token_of(self, name: str) -> str:
        """Token of a lidarseg category by name (a detection class's is :meth:`category_token`)."""
        for cls, spec in enumerate(CLASS_SPECS):
            if spec.category == name:
                return self.category_token(cls)
        return self.token('category', name)

    def attribute_token(self, name: str) -> str:
        return self.token('attribute', name)

    def sensor_token(self, channel: str) -> str:
        return self.token('sensor', channel)

    def extend(self, records: dict[str, list[dict]]) -> None:
        """Append the records of one scene (table name -> records; its road frame under
        :data:`~.maps.ROAD_FRAME_KEY`)."""
        for name, rows in records.items():
            target = self.road_frames if name == ROAD_FRAME_KEY else self.tables[name]
            target.extend(rows)

    def write(self, root: Path, version: str, map_size: int = 64) -> None:
        """Write ``root/version/*.json`` (``lidarseg.json`` only when it has records), one small
        semantic-prior map mask per location and the scenes' road frames
        ``root/maps/road_frames.json`` (the map layers, see :mod:`.maps`).

        Args:
            root: dataset root.
            version: nuScenes version folder name, e.g. 'v1.0-mini'.
            map_size: side of the map mask PNGs in pixels (a horizontal band marks a road).
        """
        import cv2

        logs_by_location: dict[str, list[str]] = {}
        for log in self.tables['log']:
            logs_by_location.setdefault(log['location'], []).append(log['token'])
        self.tables['map'] = []
        (root / 'maps').mkdir(parents=True, exist_ok=True)
        for location, log_tokens in sorted(logs_by_location.items()):
            token = self.token('map', location)
            filename = f'maps/{token}.png'
            mask = np.zeros((map_size, map_size), dtype=np.uint8)
            mask[map_size // 4 : 3 * map_size // 4] = 255
            cv2.imwrite(str(root / filename), mask)
            self.tables['map'].append(
                dict(token=token, log_tokens=log_tokens, category='semantic_prior', filename=filename)
            )
        table_dir = root / version
        table_dir.mkdir(parents=True, exist_ok=True)
        for name in TABLE_NAMES + tuple(n for n in OPTIONAL_TABLE_NAMES if self.tables[n]):
            with open(table_dir / f'{name}.json', 'w') as f:
                json.dump(self.tables[name], f)
        write_road_frames(root, self.seed, self.road_frames)
