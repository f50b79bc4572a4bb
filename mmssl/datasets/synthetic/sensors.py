"""Sensor rig of the synthetic world: a spinning LiDAR (32-beam by default) and 6 pinhole cameras.

Placement follows the nuScenes car (a Renault Zoe): LIDAR_TOP on the roof with its x axis to the
right and y axis forward (nuScenes convention, yaw -90 deg relative to the ego frame); cameras with
the nuScenes channels, mounting positions and viewing directions, x right / y down / z forward.
Camera intrinsics are the nuScenes ones (1600 x 900) scaled to the rendered image size.
The LiDAR is a :class:`LidarSpec`; :data:`LIDAR_PRESETS` holds the nuScenes HDL-32E (the default)
and a KITTI-like HDL-64E (64 beams, +2 / -24.8 deg, intensities scaled to KITTI's [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .raycast import MISS, BoxSet, RayGroups, RayHits, cast_rays

__all__ = [
    'CAMERA_NAMES',
    'LIDAR_PRESETS',
    'LidarSpec',
    'lidar_spec',
    'SensorRig',
    'make_rig',
    'render_camera',
    'scan_lidar',
]

CAMERA_NAMES = (
    'CAM_FRONT',
    'CAM_FRONT_RIGHT',
    'CAM_FRONT_LEFT',
    'CAM_BACK',
    'CAM_BACK_LEFT',
    'CAM_BACK_RIGHT',
)
# (yaw of the optical axis in the ego frame [deg], translation in the ego frame [m],
#  focal length and principal point at 1600 x 900) from a nuScenes calibration.
_CAMERAS = {
    'CAM_FRONT': (0.0, (1.70, 0.016, 1.51), 1266.4, (816.3, 491.5)),
    'CAM_FRONT_RIGHT': (-55.0, (1.55, -0.493, 1.50), 1260.8, (807.9, 495.3)),
    'CAM_FRONT_LEFT': (55.0, (1.52, 0.495, 1.51), 1272.6, (826.6, 479.8)),
    'CAM_BACK': (180.0, (0.03, 0.003, 1.58), 809.2, (829.2, 481.8)),
    'CAM_BACK_LEFT': (110.0, (1.04, 0.484, 1.59), 1256.7, (817.8, 451.9)),
    'CAM_BACK_RIGHT': (-110.0, (1.01, -0.481, 1.56), 1259.5, (807.3, 501.2)),
}
_LIDAR_TRANSLATION = (0.944, 0.0, 1.84)


@dataclass(frozen=True)
class LidarSpec:
    """Spinning LiDAR model (defaults: Velodyne HDL-32E as on the nuScenes car).

    Attributes:
        num_beams: number of lasers (rings).
        elevation: (min, max) beam elevation in degrees; beams are evenly spaced.
        azimuth_steps: firings per revolution (horizontal resolution 360 / azimuth_steps deg).
        max_range: returns farther than this (metres) are dropped.
        intensity_scale: factor applied to the 8-bit intensity (0-255, rounded) before it is
            written: 1 keeps the 0-255 range of nuScenes, 1 / 255 gives KITTI's [0, 1].
    """

    num_beams: int = 32
    elevation: tuple[float, float] = (-30.67, 10.67)
    azimuth_steps: int = 540
    max_range: float = 80.0
    intensity_scale: float = 1.0

    def __post_init__(self) -> None:
        low, high = self.elevation
        if self.num_beams < 1 or self.azimuth_steps < 1:
            raise ValueError(f'need num_beams >= 1 and azimuth_steps >= 1, got {self}')
        if not -90.0 <= low <= high <= 90.0 or (self.num_beams > 1 and low == high):
            raise ValueError(
                f'elevation must be (down, up) degrees with -90 <= down < up <= 90, got {self.elevation}'
            )
        if not self.intensity_scale > 0 or not self.max_range > 0:
            raise ValueError(f'intensity_scale and max_range must be positive, got {self}')

    def to_dict(self) -> dict:
        """JSON-ready settings (as recorded in ``synthetic_world.json``)."""
        return dict(
            num_beams=self.num_beams,
            elevation=[float(v) for v in self.elevation],
            azimuth_steps=self.azimuth_steps,
            max_range=self.max_range,
            intensity_scale=self.intensity_scale,
        )

    def beams(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit directions (R, 3) in the LiDAR frame and ring index (R,), azimuth-major order."""
        elev = np.deg2rad(np.linspace(*self.elevation, self.num_beams))
        az = np.arange(self.azimuth_steps) * (2 * np.pi / self.azimuth_steps)
        el, a = np.meshgrid(elev, az)  # (A, B)
        dirs = np.stack([np.cos(el) * np.cos(a), np.cos(el) * np.sin(a), np.sin(el)], axis=-1)
        ring = np.broadcast_to(np.arange(self.num_beams), el.shape)
        return dirs.reshape(-1, 3), ring.reshape(-1).copy()


# Beam count, vertical field of view (down, up) in degrees and intensity scale of the two rigs.
LIDAR_PRESETS: dict[str, LidarSpec] = {
    'hdl32e': LidarSpec(),  # nuScenes: Velodyne HDL-32E, +10.67 / -30.67 deg, intensity 0-255
    'hdl64e': LidarSpec(num_beams=64, elevation=(-24.8, 2.0), intensity_scale=1.0 / 255.0),  # KITTI
}


def lidar_spec(
    preset: str | LidarSpec = 'hdl32e',
    num_beams: int | None = None,
    elevation: tuple[float, float] | None = None,
    intensity_scale: float | None = None,
    **overrides: float,
) -> LidarSpec:
    """A LiDAR model: a preset of :data:`LIDAR_PRESETS` (or a spec) with some fields replaced.

    Args:
        preset: preset name or a :class:`LidarSpec`.
        num_beams, elevation, intensity_scale: replace the preset's value where not ``None``.
        **overrides: other :class:`LidarSpec` fields (``azimuth_steps``, ``max_range``).

    Returns:
        The spec.
    """
    if isinstance(preset, str):
        if preset not in LIDAR_PRESETS:
            raise ValueError(f'unknown LiDAR preset {preset!r}; presets: {sorted(LIDAR_PRESETS)}')
        preset = LIDAR_PRESETS[preset]
    fields = dict(num_beams=num_beams, elevation=elevation, intensity_scale=intensity_scale, **overrides)
    fields = {k: v for k, v in fields.items() if v is not None}
    if 'elevation' in fields:
        fields['elevation'] = tuple(float(v) for v in fields['elevation'])
    return replace(preset, **fields)


def _quat_from_matrix(rot: np.ndarray) -> list[float]:
    """Quaternion [w, x, y, z] (w >= 0) of a rotation matrix."""
    from pyquaternion import Quaternion

    q = Quaternion(matrix=rot, atol=1e-6)
    q = -q if q.w < 0 else q
    return [float(v) for v in q.elements]


def _rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _cam_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-to-ego rotation (3, 3) for an optical axis at ``yaw`` (ego frame), level +- jitter."""
    # Columns: camera x (right), y (down), z (forward) in the ego frame, for a level camera.
    base = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    rz_cam = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    return _rot_z(yaw) @ base @ rx @ rz_cam


@dataclass
class SensorRig:
    """Calibrated sensors of one log.

    Attributes:
        lidar2ego: (4, 4) LIDAR_TOP to ego transform.
        cam2ego: camera name -> (4, 4) camera to ego transform.
        intrinsics: camera name -> (3, 3) camera matrix for the image size.
        img_size: (H, W) of the rendered images.
        lidar: the LiDAR model.
    """

    lidar2ego: np.ndarray
    cam2ego: dict[str, np.ndarray]
    intrinsics: dict[str, np.ndarray]
    img_size: tuple[int, int]
    lidar: LidarSpec
    ray_cache: dict[str, tuple[np.ndarray, RayGroups]] = field(default_factory=dict, repr=False)
    lidar_cache: tuple[np.ndarray, np.ndarray, RayGroups] | None = field(default=None, repr=False)

    def camera_rays(self, name: str) -> tuple[np.ndarray, RayGroups]:
        """Unit pixel rays (H * W, 3) of a camera in its own frame and their tile groups."""
        if name not in self.ray_cache:
            rays = pixel_rays(self.intrinsics[name], self.img_size)
            self.ray_cache[name] = (rays, RayGroups.from_rays(rays, _tiles(*self.img_size)))
        return self.ray_cache[name]

    def lidar_rays(self) -> tuple[np.ndarray, np.ndarray, RayGroups]:
        """LiDAR beams (R, 3) in the LiDAR frame, ring (R,) and groups of ~32-degree sectors."""
        if self.lidar_cache is None:
            beams, ring = self.lidar.beams()
            per_sector = self.lidar.num_beams * max(1, self.lidar.azimuth_steps * 32 // 360)
            index = [np.arange(i, min(i + per_sector, len(beams))) for i in range(0, len(beams), per_sector)]
            self.lidar_cache = (beams, ring, RayGroups.from_rays(beams, index))
        return self.lidar_cache

    @staticmethod
    def quaternion(transform: np.ndarray) -> list[float]:
        """Rotation of a (4, 4) transform as a nuScenes quaternion [w, x, y, z]."""
        return _quat_from_matrix(transform[:3, :3])


def make_rig(
    rng: np.random.Generator, img_size: tuple[int, int], lidar: LidarSpec, jitter: bool = True
) -> SensorRig:
    """Sensor rig with a small random calibration jitter per log (1 cm, 0.3 deg)."""
    height, width = img_size
    sx, sy = width / 1600.0, height / 900.0

    def noise(scale: float, size: int = 3) -> np.ndarray:
        return rng.normal(0.0, scale, size=size) if jitter else np.zeros(size)

    lidar2ego = np.eye(4)
    lidar2ego[:3, :3] = _rot_z(-np.pi / 2 + noise(np.deg2rad(0.3), 1)[0])
    lidar2ego[:3, 3] = np.array(_LIDAR_TRANSLATION) + noise(0.01)
    cam2ego, intrinsics = {}, {}
    for name in CAMERA_NAMES:
        yaw, trans, focal, (cx, cy) = _CAMERAS[name]
        ang = noise(np.deg2rad(0.3))
        tf = np.eye(4)
        tf[:3, :3] = _cam_rotation(np.deg2rad(yaw) + ang[0], ang[1], ang[2])
        tf[:3, 3] = np.array(trans) + noise(0.01)
        cam2ego[name] = tf
        intrinsics[name] = np.array([[focal * sx, 0.0, cx * sx], [0.0, focal * sx, cy * sy], [0.0, 0.0, 1.0]])
    return SensorRig(lidar2ego, cam2ego, intrinsics, (height, width), lidar)


def _tiles(height: int, width: int, tile: int = 48) -> list[np.ndarray]:
    """Row-major pixel indices of the H * W image grouped in square tiles."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing='ij')
    key = ((rows // tile) * ((width + tile - 1) // tile) + cols // tile).reshape(-1)
    order = np.argsort(key, kind='stable')
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    return np.split(order, bounds)


def pixel_rays(intrinsic: np.ndarray, img_size: tuple[int, int]) -> np.ndarray:
    """Unit ray directions (H * W, 3) in the camera frame through pixel centres (u = col, v = row)."""
    height, width = img_size
    v, u = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing='ij')
    pix = np.stack([u.reshape(-1), v.reshape(-1), np.ones(u.size)], axis=1)
    rays = pix @ np.linalg.inv(intrinsic).T
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def render_camera(
    rig: SensorRig, name: str, ego2global: np.ndarray, boxes: BoxSet, max_depth: float = 250.0
) -> tuple[RayHits, np.ndarray, np.ndarray]:
    """Ray-cast one camera image.

    Args:
        rig: the sensor rig.
        name: camera channel.
        ego2global: (4, 4) ego pose at the capture time.
        boxes: boxes in the global frame at the capture time.
        max_depth: farther hits show the sky.

    Returns:
        hits: first hits of the H * W pixel rays in row-major order (global frame).
        dirs_global: (H * W, 3) unit ray directions in the global frame.
        z_cam: (H * W,) camera-z depth of each hit (0 where nothing was hit).
    """
    cam2global = ego2global @ rig.cam2ego[name]
    rays_cam, groups = rig.camera_rays(name)
    rot = cam2global[:3, :3]
    dirs = rays_cam @ rot.T
    hits = cast_rays(cam2global[:3, 3], dirs, boxes, max_depth, groups=groups.rotated(rot))
    z_cam = np.where(hits.obj != MISS, hits.depth * rays_cam[:, 2], 0.0)
    return hits, dirs, z_cam


def scan_lidar(
    rig: SensorRig, ego2global: np.ndarray, boxes: BoxSet
) -> tuple[RayHits, np.ndarray, np.ndarray, np.ndarray]:
    """Ray-cast one LiDAR revolution (instantaneous: no motion during the sweep).

    Returns:
        hits: first hits of all beams (global frame); misses have ``obj == MISS``.
        dirs_global: (R, 3) beam directions in the global frame.
        points_lidar: (R, 3) hit points in the LiDAR frame (``nan`` for misses).
        ring: (R,) ring index of each beam (0 = lowest).
    """
    lidar2global = ego2global @ rig.lidar2ego
    beams, ring, groups = rig.lidar_rays()
    rot = lidar2global[:3, :3]
    dirs = beams @ rot.T
    hits = cast_rays(lidar2global[:3, 3], dirs, boxes, rig.lidar.max_range, groups=groups.rotated(rot))
    finite = np.isfinite(hits.depth)
    points = np.where(finite, hits.depth, 0.0)[:, None] * beams
    points[~finite] = np.nan
    return hits, dirs, points, ring
