"""Objects of a synthetic driving scene: classes, box layout, ego path.

A scene is a straight road in a local *road frame* (x along the road, y to the left, z up, ground at
z = 0) placed in the global frame by a rigid 2D transform. The ego vehicle drives along the road at a
constant speed; annotated objects (the 10 nuScenes detection classes) stand or move at a constant
velocity parallel to the road; unannotated buildings line the road. No two footprints (the ego's
included) overlap at any time of the scene, so LiDAR points never lie inside two boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    'CLASS_SPECS',
    'DETECTION_CLASSES',
    'BUILDING',
    'ClassSpec',
    'SceneLayout',
    'sample_scene_layout',
]


@dataclass(frozen=True)
class ClassSpec:
    """Appearance and placement of one object class.

    Attributes:
        name: nuScenes detection name (e.g. ``'car'``).
        category: nuScenes general category (e.g. ``'vehicle.car'``), mapped back to ``name`` by the
            devkit's ``category_to_detection_name`` and MMDet3D's ``NuScenesNameMapping``.
        wlh: typical size (width, length, height) in metres, as nuScenes stores it.
        color: RGB base colour in [0, 255].
        color2: RGB colour of the texture pattern.
        pattern: one of 'solid', 'hstripes', 'vstripes', 'checker', 'windows'.
        reflectivity: LiDAR reflectivity in [0, 1] (intensity = 255 * reflectivity * cos(incidence)).
        weight: relative frequency of the class in a scene.
        move_prob: probability that an instance moves.
        speed: (min, max) speed in m/s of a moving instance.
        zone: where it is placed: 'lane' (driving lanes / parking strip), 'side' (sidewalk),
            'edge' (parking strip and road edge).
    """

    name: str
    category: str
    wlh: tuple[float, float, float]
    color: tuple[int, int, int]
    color2: tuple[int, int, int]
    pattern: str
    reflectivity: float
    weight: float
    move_prob: float
    speed: tuple[float, float]
    zone: str


# fmt: off
CLASS_SPECS: tuple[ClassSpec, ...] = (
    # name, category, wlh, color, color2, pattern, reflectivity, weight, move_prob, speed, zone
    ClassSpec('car', 'vehicle.car', (1.95, 4.62, 1.73), (40, 80, 200), (25, 30, 45),
              'windows', 0.55, 0.25, 0.5, (4.0, 12.0), 'lane'),
    ClassSpec('truck', 'vehicle.truck', (2.50, 6.90, 2.80), (200, 120, 30), (120, 70, 20),
              'vstripes', 0.5, 0.08, 0.4, (3.0, 9.0), 'lane'),
    ClassSpec('construction_vehicle', 'vehicle.construction', (2.80, 6.40, 3.20), (230, 200, 20),
              (30, 30, 30), 'checker', 0.6, 0.05, 0.0, (0.0, 0.0), 'edge'),
    ClassSpec('bus', 'vehicle.bus.rigid', (2.95, 11.2, 3.50), (200, 30, 30), (30, 30, 40),
              'windows', 0.5, 0.05, 0.5, (3.0, 9.0), 'lane'),
    ClassSpec('trailer', 'vehicle.trailer', (2.90, 12.3, 3.90), (150, 150, 160), (90, 90, 100),
              'hstripes', 0.45, 0.05, 0.0, (0.0, 0.0), 'edge'),
    ClassSpec('barrier', 'movable_object.barrier', (2.50, 0.50, 0.98), (220, 220, 220),
              (200, 20, 20), 'vstripes', 0.7, 0.12, 0.0, (0.0, 0.0), 'edge'),
    ClassSpec('motorcycle', 'vehicle.motorcycle', (0.77, 2.11, 1.47), (30, 30, 30),
              (180, 180, 190), 'hstripes', 0.4, 0.06, 0.5, (3.0, 10.0), 'lane'),
    ClassSpec('bicycle', 'vehicle.bicycle', (0.60, 1.70, 1.29), (30, 160, 60), (230, 230, 230),
              'checker', 0.35, 0.06, 0.5, (2.0, 5.0), 'side'),
    ClassSpec('pedestrian', 'human.pedestrian.adult', (0.67, 0.73, 1.77), (170, 90, 160),
              (240, 200, 160), 'hstripes', 0.3, 0.18, 0.6, (0.8, 1.8), 'side'),
    ClassSpec('traffic_cone', 'movable_object.trafficcone', (0.41, 0.41, 1.07), (255, 120, 0),
              (250, 250, 250), 'hstripes', 0.9, 0.10, 0.0, (0.0, 0.0), 'edge'),
)
# fmt: on
DETECTION_CLASSES: tuple[str, ...] = tuple(spec.name for spec in CLASS_SPECS)

#: Appearance of the unannotated buildings (class index ``len(CLASS_SPECS)``).
BUILDING = ClassSpec(
    'building',
    '',
    (10.0, 20.0, 12.0),
    (185, 170, 150),
    (70, 80, 95),
    'windows',
    0.25,
    0.0,
    0.0,
    (0.0, 0.0),
    'building',
)

LANE_WIDTH = 3.5
EGO_LANE_Y = -LANE_WIDTH / 2
#: Ego body footprint in the ego frame (x from rear axle: -1.0 .. 3.8 m, y: +-1.0 m).
EGO_BOX = (-1.0, 3.8, -1.0, 1.0)


@dataclass
class SceneLayout:
    """All boxes of one scene in the road frame, at time 0 (the first keyframe).

    Attributes:
        center: (M, 3) box centres at t = 0 (z = height / 2: boxes stand on the ground).
        wlh: (M, 3) width, length, height.
        yaw: (M,) heading about z (0 = along +x of the road).
        velocity: (M, 3) constant velocity in m/s (z = 0).
        cls: (M,) class index into CLASS_SPECS; ``len(CLASS_SPECS)`` = building (not annotated).
        color_scale: (M,) per-instance brightness factor of the class colour.
        ego_speed: ego speed along +x in m/s; the ego rear axle is at (ego_speed * t, EGO_LANE_Y, 0).
        road_origin: (2,) global position of the road frame origin.
        road_yaw: global heading of the road frame.
    """

    center: np.ndarray
    wlh: np.ndarray
    yaw: np.ndarray
    velocity: np.ndarray
    cls: np.ndarray
    color_scale: np.ndarray
    ego_speed: float
    road_origin: np.ndarray
    road_yaw: float

    @property
    def annotated(self) -> np.ndarray:
        """(M,) bool, True for the detection classes, False for buildings."""
        return self.cls < len(CLASS_SPECS)

    def centers_at(self, t: float) -> np.ndarray:
        """(M, 3) box centres in the road frame at time ``t`` seconds after the first keyframe."""
        return self.center + self.velocity * t

    def to_global(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Box centres (M, 3) and yaws (M,) in the global frame at time ``t``."""
        rot = _rot2d(self.road_yaw)
        c = self.centers_at(t)
        xy = c[:, :2] @ rot.T + self.road_origin
        return np.concatenate([xy, c[:, 2:]], axis=1), self.yaw + self.road_yaw

    def ego_pose(self, t: float) -> np.ndarray:
        """(4, 4) ego-to-global transform at time ``t`` (flat ground: yaw only, z = 0)."""
        rot = _rot2d(self.road_yaw)
        pose = np.eye(4)
        pose[:2, :2] = rot
        pose[:2, 3] = rot @ np.array([self.ego_speed * t, EGO_LANE_Y]) + self.road_origin
        return pose


def _rot2d(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s], [s, c]])


def _footprint_aabb(center: np.ndarray, wlh: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Axis-aligned (road frame) half extents (..., 2) of rotated footprints."""
    c, s = np.abs(np.cos(yaw)), np.abs(np.sin(yaw))
    half_l, half_w = wlh[..., 1] / 2, wlh[..., 0] / 2
    return np.stack([c * half_l + s * half_w, s * half_l + c * half_w], axis=-1)


def _sample_pose(
    rng: np.random.Generator, spec: ClassSpec, x_range: tuple[float, float], ego_speed: float
) -> tuple[np.ndarray, float, np.ndarray]:
    """Random position (x, y), yaw and velocity (3,) for an instance of ``spec``."""
    moving = spec.move_prob > 0 and rng.random() < spec.move_prob
    speed = rng.uniform(*spec.speed) if moving else 0.0
    x = rng.uniform(*x_range)
    if spec.zone == 'lane' and moving:
        lane = rng.choice(
            [-2 * LANE_WIDTH + LANE_WIDTH / 2, LANE_WIDTH / 2, LANE_WIDTH + LANE_WIDTH / 2, EGO_LANE_Y]
        )
        direction = -1.0 if lane > 0 else 1.0
        if lane == EGO_LANE_Y:
            # A lead vehicle in the ego lane drives at the ego's speed, so it never gets closer.
            speed = ego_speed
            x = rng.uniform(12.0, 35.0) * rng.choice([-1.0, 1.0])
        y = lane + rng.normal(0.0, 0.15)
        yaw = 0.0 if direction > 0 else np.pi
    elif spec.zone in ('lane', 'edge'):
        side = rng.choice([-1.0, 1.0])
        y = side * rng.uniform(7.3, 9.5)
        yaw = (0.0 if rng.random() < 0.5 else np.pi) + rng.normal(0.0, 0.15)
        if spec.name in ('barrier', 'traffic_cone') and rng.random() < 0.3:
            yaw = rng.uniform(-np.pi, np.pi)
        direction = np.cos(yaw)
    else:  # sidewalk
        side = rng.choice([-1.0, 1.0])
        y = side * rng.uniform(10.0, 12.5)
        direction = rng.choice([-1.0, 1.0])
        yaw = (0.0 if direction > 0 else np.pi) if moving else rng.uniform(-np.pi, np.pi)
    # Moving objects head exactly along their velocity (+x or -x of the road).
    velocity = np.array([direction * speed, 0.0, 0.0])
    return np.array([x, y]), float(yaw), velocity


def sample_scene_layout(
    rng: np.random.Generator,
    duration: float,
    num_objects: int = 40,
    t_min: float = 0.0,
    max_tries: int = 30,
    time_step: float = 0.05,
) -> SceneLayout:
    """Sample the boxes, ego speed and global placement of one scene.

    Args:
        rng: random generator (the scene is a deterministic function of its state).
        duration: time span of the scene in seconds (first to last keyframe).
        num_objects: number of annotated objects to try to place.
        t_min: earliest capture time (<= 0: LiDAR sweeps before the first keyframe).
        max_tries: rejection-sampling attempts per object before it is dropped.
        time_step: time resolution in seconds of the collision check over the scene.

    Returns:
        The scene layout; buildings come after the annotated objects.
    """
    ego_speed = float(rng.uniform(2.0, 10.0))
    x_range = (-50.0, ego_speed * duration + 50.0)
    times = np.arange(t_min, duration + time_step, time_step)
    # Occupied footprints: centre (K, 2) at t=0, velocity x (K,), AABB half extents (K, 2).
    ego_len = EGO_BOX[1] - EGO_BOX[0]
    occ_c = [np.array([(EGO_BOX[0] + EGO_BOX[1]) / 2, EGO_LANE_Y])]
    occ_v = [ego_speed]
    occ_h = [np.array([ego_len / 2, 1.0])]
    weights = np.array([s.weight for s in CLASS_SPECS])
    weights = weights / weights.sum()
    centers, wlhs, yaws, vels, classes = [], [], [], [], []
    for _ in range(num_objects):
        cls = int(rng.choice(len(CLASS_SPECS), p=weights))
        spec = CLASS_SPECS[cls]
        wlh = np.array(spec.wlh) * rng.uniform(0.9, 1.1, size=3)
        for _try in range(max_tries):
            xy, yaw, vel = _sample_pose(rng, spec, x_range, ego_speed)
            half = _footprint_aabb(xy, wlh, np.array(yaw)) + 0.3
            c = np.stack(occ_c)
            dx = (xy[0] - c[:, 0])[:, None] + (vel[0] - np.array(occ_v))[:, None] * times[None]
            dy = np.abs(xy[1] - c[:, 1])[:, None]
            hx = (half[0] + np.stack(occ_h)[:, 0])[:, None]
            hy = (half[1] + np.stack(occ_h)[:, 1])[:, None]
            if not np.any((np.abs(dx) < hx) & (dy < hy)):
                break
        else:
            continue
        occ_c.append(xy)
        occ_v.append(vel[0])
        occ_h.append(half)
        centers.append([xy[0], xy[1], wlh[2] / 2])
        wlhs.append(wlh)
        yaws.append(yaw)
        vels.append(vel)
        classes.append(cls)
    # Buildings on both sides, behind the sidewalks.
    for side in (-1.0, 1.0):
        x = x_range[0] - 20.0
        while x < x_range[1] + 20.0:
            length = rng.uniform(10.0, 30.0)
            depth = rng.uniform(8.0, 15.0)
            height = rng.uniform(6.0, 25.0)
            y = side * (rng.uniform(14.0, 18.0) + depth / 2)
            centers.append([x + length / 2, y, height / 2])
            wlhs.append([depth, length, height])
            yaws.append(0.0)
            vels.append([0.0, 0.0, 0.0])
            classes.append(len(CLASS_SPECS))
            x += length + rng.uniform(2.0, 12.0)
    num = len(centers)
    return SceneLayout(
        center=np.asarray(centers, dtype=np.float64).reshape(num, 3),
        wlh=np.asarray(wlhs, dtype=np.float64).reshape(num, 3),
        yaw=np.asarray(yaws, dtype=np.float64),
        velocity=np.asarray(vels, dtype=np.float64).reshape(num, 3),
        cls=np.asarray(classes, dtype=np.int64),
        color_scale=rng.uniform(0.75, 1.15, size=num),
        ego_speed=ego_speed,
        road_origin=rng.uniform(300.0, 1700.0, size=2),
        road_yaw=float(rng.uniform(-np.pi, np.pi)),
    )
