"""Colours, procedural textures and LiDAR reflectivity of the synthetic world.

Every surface gets an albedo (RGB in [0, 1]) and a reflectivity from its class and the hit point:
boxes use class colours with stripe / checker / window patterns in box coordinates, the ground uses
asphalt with lane markings, a parking strip, pavement slabs and grass in road coordinates, all with
a little deterministic value noise so that image patches are textured.
"""

from __future__ import annotations

import numpy as np

from .raycast import GROUND, RayHits
from .road import (
    CENTRE_LINE_HALF_WIDTH,
    CENTRE_LINE_OFFSET,
    DASH_LENGTH,
    DASH_PERIOD,
    EDGE_LINE_HALF_WIDTH,
    EDGE_LINE_INSET,
    LANE_LINE_HALF_WIDTH,
    PARKING_OUTER,
    ROAD_HALF_WIDTH,
    WALKWAY_OUTER,
    to_road_frame,
)
from .scene import BUILDING, CLASS_SPECS, LANE_WIDTH, SceneLayout

__all__ = ['shade_camera', 'lidar_intensity']

_SPECS = CLASS_SPECS + (BUILDING,)
_COLOR1 = np.array([s.color for s in _SPECS], dtype=np.float64) / 255.0
_COLOR2 = np.array([s.color2 for s in _SPECS], dtype=np.float64) / 255.0
_PATTERN = np.array(
    [('solid', 'hstripes', 'vstripes', 'checker', 'windows').index(s.pattern) for s in _SPECS]
)
_REFLECT = np.array([s.reflectivity for s in _SPECS])
_SUN = np.array([0.45, 0.3, 0.84]) / np.linalg.norm([0.45, 0.3, 0.84])
_SKY_HORIZON = np.array([0.80, 0.86, 0.93])
_SKY_ZENITH = np.array([0.38, 0.58, 0.88])


def _hash_noise(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """Deterministic value noise in [0, 1) on an integer lattice."""
    h = (ix.astype(np.int64) * 73856093) ^ (iy.astype(np.int64) * 19349663)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 1023) / 1024.0


def _box_pattern(pattern: np.ndarray, local: np.ndarray, axis: np.ndarray, half: np.ndarray) -> np.ndarray:
    """(P,) weight of colour2 in [0, 1] for box hits.

    Args:
        pattern: (P,) pattern index into ('solid', 'hstripes', 'vstripes', 'checker', 'windows').
        local: (P, 3) hit points in box coordinates (metres, origin at the box centre).
        axis: (P,) hit face axis (2 = top face).
        half: (P, 3) box half extents.
    """
    # Face coordinates: a = horizontal along the face, z = height above the box bottom.
    a = np.where(axis == 0, local[:, 1], local[:, 0]) + half[:, 0] + half[:, 1]
    z = local[:, 2] + half[:, 2]
    top = axis == 2
    hstripes = np.floor(z / 0.25) % 2
    vstripes = np.floor(a / 0.5) % 2
    checker = (np.floor(a / 0.4) + np.floor(z / 0.4)) % 2
    rel_z = z / (2 * half[:, 2])
    small = half[:, 2] < 5.0
    vehicle_windows = (rel_z > 0.55) & (rel_z < 0.9) & (np.floor(a / 1.2) % 3 != 0)
    floor_z = np.mod(z, 3.2)
    building_windows = (floor_z > 1.0) & (floor_z < 2.4) & (np.mod(a, 2.6) > 0.7)
    windows = np.where(small, vehicle_windows, building_windows)
    weight = np.select(
        [pattern == 1, pattern == 2, pattern == 3, pattern == 4],
        [hstripes, vstripes, checker, windows],
        default=0.0,
    )
    top_weight = np.where(pattern == 3, (np.floor(local[:, 0] / 0.4) + np.floor(local[:, 1] / 0.4)) % 2, 0.0)
    return np.where(top, top_weight, weight).astype(np.float64)


def _ground_material(xy_road: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Albedo (P, 3) and reflectivity (P,) of ground points given in road coordinates (P, 2).

    The bands and lines are those of :mod:`.road` (also the map layers of ``road_frames.json``).
    """
    x, y = xy_road[:, 0], xy_road[:, 1]
    ay = np.abs(y)
    noise = _hash_noise(np.floor(x / 0.7), np.floor(y / 0.7)) - 0.5
    albedo = np.empty((len(x), 3))
    reflect = np.empty(len(x))
    road = ay < ROAD_HALF_WIDTH
    albedo[:] = np.array([0.30, 0.30, 0.32])
    reflect[:] = 0.06
    # Lane markings: dashed lane separators, double centre line, solid road edges.
    dashed = (np.abs(ay - LANE_WIDTH) < LANE_LINE_HALF_WIDTH) & (np.mod(x, DASH_PERIOD) < DASH_LENGTH)
    centre = np.abs(ay - CENTRE_LINE_OFFSET) < CENTRE_LINE_HALF_WIDTH
    edge = np.abs(ay - ROAD_HALF_WIDTH + EDGE_LINE_INSET) < EDGE_LINE_HALF_WIDTH
    white = road & (dashed | edge)
    albedo[white] = 0.9
    reflect[white] = 0.5
    yellow = road & centre
    albedo[yellow] = np.array([0.85, 0.7, 0.15])
    reflect[yellow] = 0.45
    parking = (ay >= ROAD_HALF_WIDTH) & (ay < PARKING_OUTER)
    albedo[parking] = np.array([0.24, 0.24, 0.26])
    slab = (np.mod(x, 2.0) < 0.06) | (np.mod(ay - PARKING_OUTER, 2.0) < 0.06)
    walk = (ay >= PARKING_OUTER) & (ay < WALKWAY_OUTER)
    albedo[walk] = np.where(slab[walk, None], 0.45, 0.62)
    reflect[walk] = 0.15
    grass = ay >= WALKWAY_OUTER
    albedo[grass] = np.array([0.25, 0.45, 0.18])
    reflect[grass] = 0.1
    albedo *= (1.0 + 0.25 * noise)[:, None]
    return np.clip(albedo, 0.0, 1.0), reflect


def _to_road(points: np.ndarray, layout: SceneLayout) -> np.ndarray:
    """(P, 2) road-frame xy of global points (P, 3)."""
    return to_road_frame(points, layout.road_origin, layout.road_yaw)


def shade_camera(hits: RayHits, dirs: np.ndarray, layout: SceneLayout) -> np.ndarray:
    """RGB colours (N, 3) in [0, 1] seen along camera rays.

    Args:
        hits: first hits of the rays (global frame).
        dirs: (N, 3) unit ray directions (global frame).
        layout: the scene (box classes and colours, road frame).
    """
    n = len(dirs)
    elev = np.clip(dirs[:, 2], 0.0, 1.0) ** 0.6
    rgb = _SKY_HORIZON + elev[:, None] * (_SKY_ZENITH - _SKY_HORIZON)
    lambert = 0.45 + 0.55 * np.clip(hits.normal @ _SUN, 0.0, 1.0)
    ground = hits.obj == GROUND
    if ground.any():
        albedo, _ = _ground_material(_to_road(hits.point[ground], layout))
        # Fade to the sky colour near the horizon (aerial perspective).
        fog = np.clip(hits.depth[ground] / 250.0, 0.0, 1.0)[:, None] ** 2
        rgb[ground] = (1 - fog) * albedo * lambert[ground, None] + fog * _SKY_HORIZON
    box = hits.obj >= 0
    if box.any():
        b = hits.obj[box]
        cls = layout.cls[b]
        half = layout.wlh[b][:, [1, 0, 2]] / 2
        w = _box_pattern(_PATTERN[cls], hits.local[box], hits.axis[box], half)[:, None]
        albedo = (1 - w) * _COLOR1[cls] + w * _COLOR2[cls]
        albedo = albedo * layout.color_scale[b][:, None]
        rgb[box] = albedo * lambert[box, None]
    return np.clip(rgb, 0.0, 1.0).reshape(n, 3)


def lidar_intensity(hits: RayHits, dirs: np.ndarray, layout: SceneLayout) -> np.ndarray:
    """LiDAR intensities (N,) in [0, 255] (0 for misses): 255 * reflectivity * incidence term."""
    reflect = np.zeros(len(dirs))
    ground = hits.obj == GROUND
    if ground.any():
        _, reflect[ground] = _ground_material(_to_road(hits.point[ground], layout))
    box = hits.obj >= 0
    reflect[box] = _REFLECT[layout.cls[hits.obj[box]]]
    cos_inc = np.abs((hits.normal * dirs).sum(axis=1))
    return np.round(255.0 * reflect * (0.2 + 0.8 * cos_inc))
