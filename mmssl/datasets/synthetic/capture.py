"""Capture of one synthetic scene: sensor files on disk and the scene's nuScenes records.

Timing: keyframes every 0.5 s (2 Hz); ``sweeps_per_sample`` LiDAR sweeps at 20 Hz (50 ms apart)
precede every keyframe (nuScenes has 9 between keyframes; a few keep the world small). The cameras
fire at the keyframe time with the keyframe's ego pose, so a LiDAR point projects exactly onto the
surface that it hit. Each sample_data has its own ego_pose record, as in nuScenes.

Annotations: as real nuScenes boxes enclose their points, an annotated box is the object's box
grown by :data:`ANNOTATION_MARGIN` on every side (ray-cast points lie exactly on the object's
faces, where an unpadded box would count them by rounding luck), and ``num_lidar_pts`` is the
nuScenes devkit's own count (``points_in_box``) of the keyframe's LiDAR points, as written to
disk (float32), in that box.

LiDAR semantic labels (``cfg.lidarseg``): every keyframe sweep also gets its nuScenes-lidarseg
file, one label per written point from what its ray hit (:mod:`.point_labels`), and a
``lidarseg`` record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .appearance import lidar_intensity, shade_camera
from .maps import ROAD_FRAME_KEY, road_frame_record
from .point_labels import lidarseg_labels, lidarseg_record, write_lidarseg
from .raycast import MISS, BoxSet
from .scene import CLASS_SPECS, SceneLayout, sample_scene_layout
from .sensors import CAMERA_NAMES, LidarSpec, SensorRig, make_rig, render_camera, scan_lidar
from .tables import LOCATIONS, WorldTables, attribute_name, visibility_token

__all__ = ['CaptureConfig', 'capture_scene', 'scene_layout']

KEYFRAME_US = 500_000
SWEEP_US = 50_000
ANNOTATION_MARGIN = 0.05  # metres added to each side of an object's box in its annotation


@dataclass(frozen=True)
class CaptureConfig:
    """Settings shared by all scenes of a world (see ``generate_world`` for their meaning;
    ``version`` names the folder of the lidarseg files)."""

    root: str
    seed: int
    samples_per_scene: int
    img_size: tuple[int, int]
    sweeps_per_sample: int
    lidar: LidarSpec
    objects_per_scene: int
    annotation_range: float
    save_depth: bool
    jpeg_quality: int
    version: str = 'v1.0-mini'
    lidarseg: bool = True


def _quat_yaw(yaw: float) -> list[float]:
    return [float(np.cos(yaw / 2)), 0.0, 0.0, float(np.sin(yaw / 2))]


def annotated_wlh(wlh: np.ndarray) -> np.ndarray:
    """(M, 3) annotated (w, l, h): the object sizes plus the margin on both sides."""
    return np.asarray(wlh, dtype=np.float64) + 2 * ANNOTATION_MARGIN


def devkit_points_in_boxes(
    points_global: np.ndarray, center: np.ndarray, wlh: np.ndarray, yaw: np.ndarray
) -> np.ndarray:
    """Per box, the number of points the nuScenes devkit's ``points_in_box`` finds in it.

    Args:
        points_global: (N, 3) points in the global frame.
        center: (M, 3) box centres; wlh: (M, 3) sizes; yaw: (M,) headings (global frame).

    Returns:
        (M,) int64 counts.
    """
    from nuscenes.utils.data_classes import Box
    from nuscenes.utils.geometry_utils import points_in_box
    from pyquaternion import Quaternion

    counts = np.zeros(len(center), dtype=np.int64)
    for i in range(len(center)):
        box = Box(center[i], wlh[i], Quaternion(_quat_yaw(float(yaw[i]))))
        near = (
            np.linalg.norm(points_global[:, :2] - center[i, :2], axis=1) <= np.linalg.norm(wlh[i]) / 2 + 1.0
        )
        counts[i] = int(points_in_box(box, points_global[near].T).sum())
    return counts


def _boxes_at(layout: SceneLayout, t: float) -> BoxSet:
    center, yaw = layout.to_global(t)
    return BoxSet(center=center, yaw=yaw, half=layout.wlh[:, [1, 0, 2]] / 2)


def _corners(boxes: BoxSet, idx: np.ndarray) -> np.ndarray:
    """(K, 8, 3) corners of boxes ``idx``."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    local = signs[None] * boxes.half[idx][:, None]
    c, s = np.cos(boxes.yaw[idx])[:, None], np.sin(boxes.yaw[idx])[:, None]
    x = c * local[..., 0] - s * local[..., 1]
    y = s * local[..., 0] + c * local[..., 1]
    return np.stack([x, y, local[..., 2]], axis=-1) + boxes.center[idx][:, None]


def _projected_area(corners: np.ndarray, world2img: np.ndarray, img_size: tuple[int, int]) -> float:
    """Area in pixels of a box's projection (convex hull of its corners) clipped to the image.

    Returns -1 when a corner is behind the image plane (the area is then not defined).
    """
    from shapely.geometry import MultiPoint, box

    pts = corners @ world2img[:3, :3].T + world2img[:3, 3]
    if np.any(pts[:, 2] < 0.1):
        return -1.0
    uv = pts[:, :2] / pts[:, 2:]
    hull = MultiPoint([tuple(p) for p in uv]).convex_hull
    return float(hull.intersection(box(-0.5, -0.5, img_size[1] - 0.5, img_size[0] - 0.5)).area)


class _SceneWriter:
    """Builds the records and files of one scene."""

    def __init__(self, cfg: CaptureConfig, tables: WorldTables, scene_idx: int, name: str):
        self.cfg = cfg
        self.tables = tables
        self.scene_idx = scene_idx
        self.name = name
        self.records: dict[str, list[dict]] = {
            k: []
            for k in (
                'calibrated_sensor',
                'ego_pose',
                'log',
                'scene',
                'sample',
                'sample_data',
                'sample_annotation',
                'instance',
                'lidarseg',
            )
        }
        self.root = Path(cfg.root)
        self.tok = lambda *p: tables.token('scene', scene_idx, *p)  # noqa: E731
        self.last_sd: dict[str, dict] = {}

    def add_sample_data(
        self,
        channel: str,
        sample_token: str,
        timestamp: int,
        key: bool,
        ego2global: np.ndarray,
        filename: str,
        size: tuple[int, int],
    ) -> dict:
        """Append a sample_data record (and its ego pose) to the channel's prev/next chain."""
        sd_token = self.tok('sample_data', channel, timestamp)
        pose_token = self.tok('ego_pose', channel, timestamp)
        self.records['ego_pose'].append(
            dict(
                token=pose_token,
                timestamp=timestamp,
                rotation=SensorRig.quaternion(ego2global),
                translation=[float(v) for v in ego2global[:3, 3]],
            )
        )
        prev = self.last_sd.get(channel)
        record = dict(
            token=sd_token,
            sample_token=sample_token,
            ego_pose_token=pose_token,
            calibrated_sensor_token=self.tok('calibrated_sensor', channel),
            timestamp=timestamp,
            fileformat=filename.rsplit('.', 1)[-1] if channel.startswith('CAM') else 'pcd',
            is_key_frame=key,
            height=size[0],
            width=size[1],
            filename=filename,
            prev=prev['token'] if prev else '',
            next='',
        )
        if prev:
            prev['next'] = sd_token
        self.last_sd[channel] = record
        self.records['sample_data'].append(record)
        return record


def _write_lidar(path: Path, points: np.ndarray, intensity: np.ndarray, ring: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.concatenate([points, intensity[:, None], ring[:, None]], axis=1).astype(np.float32)
    data.tofile(path)


def scene_layout(
    seed: int, scene_idx: int, samples_per_scene: int, sweeps_per_sample: int, objects_per_scene: int
) -> tuple[np.random.Generator, SceneLayout]:
    """The layout of scene ``scene_idx`` of a world: a deterministic function of these settings.

    Args:
        seed: world seed.
        scene_idx: index of the scene in the world (its position in the sorted scene names).
        samples_per_scene, sweeps_per_sample, objects_per_scene: the world's settings (as
            recorded in ``synthetic_world.json``).

    Returns:
        The scene's random generator (after the layout: the rig is drawn from it next) and the
        layout.
    """
    rng = np.random.default_rng([seed, scene_idx])
    duration = (samples_per_scene - 1) * KEYFRAME_US * 1e-6
    layout = sample_scene_layout(rng, duration, objects_per_scene, t_min=-sweeps_per_sample * SWEEP_US * 1e-6)
    return rng, layout


def capture_scene(
    cfg: CaptureConfig,
    tables: WorldTables,
    scene_idx: int,
    name: str,
    on_sample: Callable[[], None] | None = None,
) -> dict[str, list[dict]]:
    """Generate, render and record one scene.

    Args:
        cfg: world settings.
        tables: the world's tables (used for tokens of shared records; not modified).
        scene_idx: index of the scene in the world (seeds its random generator).
        name: official nuScenes scene name.
        on_sample: called after each keyframe (progress reporting).

    Returns:
        Records of the scene: table name -> list of records, and under
        :data:`~.maps.ROAD_FRAME_KEY` the scene's road frame (one ``road_frames.json`` entry).
    """
    import cv2

    num = cfg.samples_per_scene
    rng, layout = scene_layout(
        cfg.seed, scene_idx, cfg.samples_per_scene, cfg.sweeps_per_sample, cfg.objects_per_scene
    )
    rig = make_rig(rng, cfg.img_size, cfg.lidar)
    w = _SceneWriter(cfg, tables, scene_idx, name)
    location = LOCATIONS[scene_idx % len(LOCATIONS)]
    vehicle = 'n015' if location.startswith('singapore') else 'n008'
    start_us = 1_532_402_900_000_000 + scene_idx * 200_000_000
    logfile = f'{vehicle}-synthetic-{scene_idx:04d}'
    log_token = w.tok('log')
    w.records['log'].append(
        dict(token=log_token, logfile=logfile, vehicle=vehicle, date_captured='2018-07-24', location=location)
    )
    calib = {'LIDAR_TOP': rig.lidar2ego, **rig.cam2ego}
    for channel, tf in calib.items():
        w.records['calibrated_sensor'].append(
            dict(
                token=w.tok('calibrated_sensor', channel),
                sensor_token=tables.sensor_token(channel),
                translation=[float(v) for v in tf[:3, 3]],
                rotation=SensorRig.quaternion(tf),
                camera_intrinsic=rig.intrinsics[channel].tolist() if channel in rig.intrinsics else [],
            )
        )
    sample_tokens = [w.tok('sample', k) for k in range(num)]
    annotated = np.flatnonzero(layout.annotated)
    num_pts = np.zeros((num, len(layout.cls)), dtype=np.int64)
    vis_pix = np.zeros((num, len(layout.cls)))
    vis_area = np.zeros((num, len(layout.cls)))
    in_range = np.zeros((num, len(layout.cls)), dtype=bool)
    height, width = cfg.img_size
    for k in range(num):
        t_key = k * KEYFRAME_US
        for j in range(cfg.sweeps_per_sample, -1, -1):
            ts = t_key - j * SWEEP_US
            t = ts * 1e-6
            ego2global = layout.ego_pose(t)
            boxes = _boxes_at(layout, t)
            hits, dirs, points, ring = scan_lidar(rig, ego2global, boxes)
            valid = hits.obj != MISS
            folder = 'samples' if j == 0 else 'sweeps'
            filename = f'{folder}/LIDAR_TOP/{logfile}__LIDAR_TOP__{start_us + ts}.pcd.bin'
            intensity = lidar_intensity(hits, dirs, layout)[valid]
            if cfg.lidar.intensity_scale != 1.0:  # the default rig writes the 0-255 values as they are
                intensity = intensity * cfg.lidar.intensity_scale
            _write_lidar(w.root / filename, points[valid], intensity, ring[valid])
            record = w.add_sample_data(
                'LIDAR_TOP', sample_tokens[k], start_us + ts, j == 0, ego2global, filename, (0, 0)
            )
            if j == 0 and cfg.lidarseg:
                labels = lidarseg_labels(hits, layout)[valid]
                label_file = write_lidarseg(w.root, cfg.version, record['token'], labels)
                w.records['lidarseg'].append(lidarseg_record(record['token'], label_file))
        # Keyframe: boxes, LiDAR statistics and cameras at t_key.
        t = t_key * 1e-6
        ego_xy = ego2global[:2, 3]
        in_range[k] = np.linalg.norm(boxes.center[:, :2] - ego_xy, axis=1) <= cfg.annotation_range
        counted = np.array([i for i in annotated if in_range[k, i]], dtype=np.int64)
        if len(counted):
            lidar2global = ego2global @ rig.lidar2ego
            pts = points[valid].astype(np.float32).astype(np.float64)  # the values written to disk
            pts_global = pts @ lidar2global[:3, :3].T + lidar2global[:3, 3]
            num_pts[k, counted] = devkit_points_in_boxes(
                pts_global, boxes.center[counted], annotated_wlh(layout.wlh[counted]), boxes.yaw[counted]
            )
        for cam in CAMERA_NAMES:
            cam_hits, cam_dirs, z_cam = render_camera(rig, cam, ego2global, boxes)
            rgb = shade_camera(cam_hits, cam_dirs, layout)
            img = (rgb.reshape(height, width, 3) * 255.0 + 0.5).astype(np.uint8)
            filename = f'samples/{cam}/{logfile}__{cam}__{start_us + t_key}.jpg'
            (w.root / filename).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(w.root / filename), img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])
            if cfg.save_depth:
                depth_path = w.root / 'depth' / cam / (Path(filename).stem + '.npy')
                depth_path.parent.mkdir(parents=True, exist_ok=True)
                np.save(depth_path, z_cam.reshape(height, width).astype(np.float32))
            w.add_sample_data(
                cam, sample_tokens[k], start_us + t_key, True, ego2global, filename, (height, width)
            )
            # Visibility: visible pixels / projected area, summed over the cameras.
            counts = np.bincount(cam_hits.obj[cam_hits.obj >= 0], minlength=len(layout.cls))
            world2img = np.eye(4)
            world2img[:3, :3] = rig.intrinsics[cam]
            world2img = world2img @ np.linalg.inv(ego2global @ rig.cam2ego[cam])
            candidates = [i for i in annotated if in_range[k, i] and counts[i] > 0]
            corners = _corners(boxes, np.array(candidates, dtype=np.int64))
            for i, box_corners in zip(candidates, corners):
                area = _projected_area(box_corners, world2img, cfg.img_size)
                if area > 0:
                    vis_pix[k, i] += counts[i]
                    vis_area[k, i] += area
        w.records['sample'].append(
            dict(
                token=sample_tokens[k],
                timestamp=start_us + t_key,
                prev=sample_tokens[k - 1] if k > 0 else '',
                next=sample_tokens[k + 1] if k + 1 < num else '',
                scene_token=w.tok('scene'),
            )
        )
        if on_sample is not None:
            on_sample()
    _add_annotations(w, layout, sample_tokens, annotated, in_range, num_pts, vis_pix, vis_area)
    w.records[ROAD_FRAME_KEY] = [road_frame_record(layout, scene_idx, name, w.tok('scene'), sample_tokens)]
    w.records['scene'].append(
        dict(
            token=w.tok('scene'),
            log_token=log_token,
            nbr_samples=num,
            first_sample_token=sample_tokens[0],
            last_sample_token=sample_tokens[-1],
            name=name,
            description=f'synthetic {location} scene, ego speed {layout.ego_speed:.1f} m/s',
        )
    )
    return w.records


def _add_annotations(
    w: _SceneWriter,
    layout: SceneLayout,
    sample_tokens: list[str],
    annotated: np.ndarray,
    in_range: np.ndarray,
    num_pts: np.ndarray,
    vis_pix: np.ndarray,
    vis_area: np.ndarray,
) -> None:
    """Instances and sample_annotations: one instance per object, annotated over the contiguous
    keyframe span between its first and last keyframe within the annotation range."""
    tables = w.tables
    for i in annotated:
        keys = np.flatnonzero(in_range[:, i])
        if len(keys) == 0:
            continue
        span = range(keys[0], keys[-1] + 1)
        spec = CLASS_SPECS[layout.cls[i]]
        moving = bool(np.linalg.norm(layout.velocity[i]) > 0.2)
        attr = attribute_name(spec.name, moving)
        inst_token = w.tok('instance', i)
        ann_tokens = [w.tok('sample_annotation', i, k) for k in span]
        for n, k in enumerate(span):
            center, yaw = layout.to_global(k * KEYFRAME_US * 1e-6)
            frac = vis_pix[k, i] / vis_area[k, i] if vis_area[k, i] > 0 else 0.0
            w.records['sample_annotation'].append(
                dict(
                    token=ann_tokens[n],
                    sample_token=sample_tokens[k],
                    instance_token=inst_token,
                    visibility_token=visibility_token(min(frac, 1.0)),
                    attribute_tokens=[tables.attribute_token(attr)] if attr else [],
                    translation=[float(v) for v in center[i]],
                    size=[float(v) for v in annotated_wlh(layout.wlh[i])],
                    rotation=_quat_yaw(float(yaw[i])),
                    prev=ann_tokens[n - 1] if n > 0 else '',
                    next=ann_tokens[n + 1] if n + 1 < len(ann_tokens) else '',
                    num_lidar_pts=int(num_pts[k, i]),
                    num_radar_pts=0,
                )
            )
        w.records['instance'].append(
            dict(
                token=inst_token,
                category_token=tables.category_token(int(layout.cls[i])),
                nbr_annotations=len(ann_tokens),
                first_annotation_token=ann_tokens[0],
                last_annotation_token=ann_tokens[-1],
            )
        )
