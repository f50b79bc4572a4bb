"""Hand-placed road frames and sample poses for tests of the synthetic world's map layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmssl.datasets.synthetic.maps import write_road_frames

__all__ = ['pose2d', 'write_hand_placed_road_frame', 'map_results', 'road_y_of_lidar_points']


def pose2d(x: float, y: float, yaw: float, z: float = 0.0) -> np.ndarray:
    """``(4, 4)`` rigid transform: rotation ``yaw`` about z, then translation ``(x, y, z)``."""
    c, s = np.cos(yaw), np.sin(yaw)
    mat = np.eye(4)
    mat[:2, :2] = [[c, -s], [s, c]]
    mat[:3, 3] = [x, y, z]
    return mat


def write_hand_placed_road_frame(
    root: str | Path, origin: tuple[float, float], yaw: float, tokens: list[str], seed: int = 0
) -> Path:
    """Write ``root/maps/road_frames.json`` with one scene (road frame ``origin``, ``yaw``)
    holding the samples ``tokens``; returns the file."""
    record = dict(
        scene_idx=0,
        name='scene-0061',
        scene_token='hand-placed',
        road_origin=[float(v) for v in origin],
        road_yaw=float(yaw),
        sample_tokens=list(tokens),
    )
    return write_road_frames(root, seed, [record])


def map_results(
    token: str, ego2global: np.ndarray, lidar2ego: np.ndarray, lidar_aug_matrix: np.ndarray | None = None
) -> dict:
    """A minimal pipeline results dict for ``LoadBEVMapSegmentation`` (v1.1 info fields)."""
    results = dict(
        token=token,
        ego2global=np.asarray(ego2global, dtype=np.float64).tolist(),
        lidar_points=dict(lidar2ego=np.asarray(lidar2ego, dtype=np.float64).tolist()),
    )
    if lidar_aug_matrix is not None:
        results['lidar_aug_matrix'] = np.asarray(lidar_aug_matrix, dtype=np.float64)
    return results


def road_y_of_lidar_points(
    points: np.ndarray,
    lidar_aug_matrix: np.ndarray,
    lidar2ego: np.ndarray,
    ego2global: np.ndarray,
    road_origin: np.ndarray,
    road_yaw: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Global z ``(N,)`` and road-frame y ``(N,)`` of augmented LiDAR points ``(N, 3)``.

    The points are mapped back by ``inv(lidar_aug_matrix)``, to the global frame by
    ``ego2global @ lidar2ego`` and into the road frame ``R(-road_yaw) (p - road_origin)``.
    """
    homo = np.concatenate([points[:, :3], np.ones((len(points), 1))], axis=1)
    to_global = np.asarray(ego2global) @ np.asarray(lidar2ego) @ np.linalg.inv(lidar_aug_matrix)
    glob = homo @ to_global.T
    rel = glob[:, :2] - np.asarray(road_origin)
    road_y = -np.sin(road_yaw) * rel[:, 0] + np.cos(road_yaw) * rel[:, 1]
    return glob[:, 2], road_y
