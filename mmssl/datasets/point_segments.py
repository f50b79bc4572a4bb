"""Ground removal and segment clustering of LiDAR points (LargeAD's temporal term, Sec. 4.3).

LargeAD removes the ground with a RANSAC plane fit and clusters the remaining points of the
frames ``t`` and ``t + n`` with HDBSCAN in global coordinates. The summary of the paper
(../shared/papers/001_*.txt) gives none of the parameters; this module's defaults are this
project's choices (docs/largead.md):

* RANSAC: a plane whose normal is within ``max_tilt_deg = 15`` degrees of the vertical, inliers
  within ``threshold = 0.2`` m (the usual setting of LiDAR ground fits, e.g. Open3D's
  ``segment_plane`` examples), 100 hypotheses scored on at most 8192 points, then a
  least-squares refit on the inliers; the ground is every point within ``threshold`` of the
  refitted plane **or below it** (points under the road surface are noise, never objects).
* HDBSCAN (scikit-learn's ``sklearn.cluster.HDBSCAN``): ``min_cluster_size = 20`` points
  (about one pedestrian at 20 m in a 32-beam sweep), ``min_samples = None`` (= the cluster
  size), Euclidean distances in metres; noise gets id -1 like the ground.

HDBSCAN and the plane fit are invariant to rigid motions, so clustering two frames that are
both expressed in one frame of reference (the current LiDAR frame) gives the same segments as
clustering them in global coordinates; :class:`~mmssl.datasets.transforms.TemporalSegments`
nevertheless maps both to global coordinates first, as the paper says.
"""

from __future__ import annotations

import numpy as np

#: Marks ground and noise points in a segment id array.
NO_SEGMENT = -1


def fit_ground_plane(
    xyz: np.ndarray,
    threshold: float = 0.2,
    iterations: int = 100,
    max_tilt_deg: float = 15.0,
    max_eval_points: int = 8192,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """RANSAC fit of the ground plane ``n . p + d = 0`` (``n`` unit, pointing up).

    Args:
        xyz: ``(N, 3)`` points in metres, z up.
        threshold: inlier distance to the plane (metres).
        iterations: plane hypotheses (3 random points each).
        max_tilt_deg: hypotheses whose normal is further than this from the z axis are rejected.
        max_eval_points: hypotheses are scored on a random subset of this size.
        seed: random seed (the fit is a deterministic function of the points and the seed).

    Returns:
        ``plane`` ``(4,)`` float64 ``(nx, ny, nz, d)`` and ``ground`` ``(N,)`` bool: within
        ``threshold`` of the plane or below it. No plane (fewer than 3 points or no hypothesis
        within the tilt limit): ``plane`` is NaN and no point is ground.
    """
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    n = len(xyz)
    no_plane = np.full(4, np.nan), np.zeros(n, dtype=bool)
    if n < 3:
        return no_plane
    rng = np.random.default_rng(seed)
    evaluate = xyz if n <= max_eval_points else xyz[rng.choice(n, max_eval_points, replace=False)]
    triples = xyz[rng.integers(0, n, size=(iterations, 3))]  # (I, 3, 3)
    normals = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])
    length = np.linalg.norm(normals, axis=1)
    valid = length > 1e-9
    normals[valid] /= length[valid, None]
    normals *= np.where(normals[:, 2:3] < 0, -1.0, 1.0)  # point up
    valid &= normals[:, 2] >= np.cos(np.deg2rad(max_tilt_deg))
    if not valid.any():
        return no_plane
    normals, anchors = normals[valid], triples[valid, 0]
    offsets = -(normals * anchors).sum(1)  # (I,)
    dist = np.abs(evaluate @ normals.T + offsets)  # (M, I)
    best = int(np.argmax((dist < threshold).sum(0)))
    normal, offset = normals[best], offsets[best]
    inliers = np.abs(xyz @ normal + offset) < threshold
    if inliers.sum() >= 3:  # least-squares refit: the smallest singular vector of the inliers
        centre = xyz[inliers].mean(0)
        refit = np.linalg.svd(xyz[inliers] - centre, full_matrices=False)[2][-1]
        refit = refit if refit[2] >= 0 else -refit
        if refit[2] >= np.cos(np.deg2rad(max_tilt_deg)):
            normal, offset = refit, -float(refit @ centre)
    signed = xyz @ normal + offset
    return np.append(normal, offset), signed < threshold


def cluster_points(xyz: np.ndarray, min_cluster_size: int = 20, min_samples: int | None = None) -> np.ndarray:
    """HDBSCAN clusters of points (``sklearn.cluster.HDBSCAN``, Euclidean, metres).

    Args:
        xyz: ``(N, 3)`` points.
        min_cluster_size: smallest cluster (points).
        min_samples: HDBSCAN's core-distance neighbourhood; ``None``: ``min_cluster_size``.

    Returns:
        ``(N,)`` int64 ids ``0 .. K-1``, :data:`NO_SEGMENT` for noise (all noise when there are
        fewer than ``min_cluster_size`` points).
    """
    from sklearn.cluster import HDBSCAN

    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    if len(xyz) < max(int(min_cluster_size), 2):
        return np.full(len(xyz), NO_SEGMENT, dtype=np.int64)
    labels = HDBSCAN(min_cluster_size=int(min_cluster_size), min_samples=min_samples, copy=True).fit_predict(
        xyz
    )
    return labels.astype(np.int64)


def segment_frames(
    frames: list[np.ndarray],
    ground_threshold: float = 0.2,
    ransac_iterations: int = 100,
    max_tilt_deg: float = 15.0,
    min_cluster_size: int = 20,
    min_samples: int | None = None,
    seed: int = 0,
) -> tuple[list[np.ndarray], dict]:
    """Joint segments of several frames in one frame of reference (LargeAD's ``L_tmp`` segments).

    The frames are concatenated, the ground of the union is removed (:func:`fit_ground_plane`)
    and the other points clustered together (:func:`cluster_points`), so a segment id names the
    same object in every frame it appears in.

    Args:
        frames: ``(N_i, 3)`` points of each frame, all in the same coordinates (global).
        ground_threshold, ransac_iterations, max_tilt_deg: of :func:`fit_ground_plane`.
        min_cluster_size, min_samples: of :func:`cluster_points`.
        seed: the RANSAC seed.

    Returns:
        The ``(N_i,)`` int64 ids of each frame (:data:`NO_SEGMENT` for ground and noise) and
        statistics: ``plane`` (4 floats), ``ground_share``, ``segments``, ``noise_share`` (of
        the non-ground points).
    """
    sizes = [len(f) for f in frames]
    xyz = np.concatenate([np.asarray(f, dtype=np.float64).reshape(-1, 3) for f in frames], 0)
    plane, ground = fit_ground_plane(
        xyz, threshold=ground_threshold, iterations=ransac_iterations, max_tilt_deg=max_tilt_deg, seed=seed
    )
    ids = np.full(len(xyz), NO_SEGMENT, dtype=np.int64)
    ids[~ground] = cluster_points(xyz[~ground], min_cluster_size=min_cluster_size, min_samples=min_samples)
    rest = ids[~ground]
    stats = dict(
        plane=plane.tolist(),
        ground_share=float(ground.mean()) if len(xyz) else 0.0,
        segments=int(rest.max()) + 1 if len(rest) else 0,
        noise_share=float((rest == NO_SEGMENT).mean()) if len(rest) else 0.0,
    )
    return list(np.split(ids, np.cumsum(sizes)[:-1])), stats
