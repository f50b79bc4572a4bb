"""Vectorised ray casting of oriented boxes standing on a ground plane (z = 0).

Rays from one origin are processed in chunks. Per chunk, boxes are culled against the cone that
holds the chunk's rays; the remaining (ray, box) pairs are filtered with a bounding-sphere test
(one matrix product over all boxes at once) and the survivors go through the exact slab test in
the box frame. The nearest box hit of each ray then competes with the ground plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ['BoxSet', 'RayGroups', 'RayHits', 'cast_rays', 'MISS', 'GROUND']

#: ``RayHits.obj`` value of a ray that hits nothing within range.
MISS = -1
#: ``RayHits.obj`` value of a ray that hits the ground plane.
GROUND = -2


@dataclass
class BoxSet:
    """Oriented boxes in the frame of the rays (the global frame here).

    Attributes:
        center: (M, 3) box centres.
        yaw: (M,) rotation about z; the box's local x axis is its length direction.
        half: (M, 3) half extents along local x (length), y (width), z (height).
    """

    center: np.ndarray
    yaw: np.ndarray
    half: np.ndarray

    def __len__(self) -> int:
        return len(self.yaw)


@dataclass
class RayHits:
    """First hit of each ray.

    Attributes:
        depth: (N,) distance along the (unit) ray to the hit; ``inf`` for a miss.
        obj: (N,) box index of the hit, ``GROUND`` or ``MISS``.
        point: (N, 3) hit point in the ray frame (``nan`` for a miss).
        local: (N, 3) hit point in the box frame (zeros unless ``obj >= 0``).
        axis: (N,) local axis (0 = length, 1 = width, 2 = height) of the box face that was hit;
            2 for ground hits, -1 for misses.
        normal: (N, 3) unit surface normal at the hit in the ray frame (zeros for a miss).
    """

    depth: np.ndarray
    obj: np.ndarray
    point: np.ndarray
    local: np.ndarray
    axis: np.ndarray
    normal: np.ndarray


@dataclass
class RayGroups:
    """A partition of rays into spatially coherent groups, each bounded by a cone.

    Attributes:
        index: list of C index arrays into the rays.
        axis: (C, 3) unit cone axes.
        angle: (C,) cone half-angles in radians.
    """

    index: list[np.ndarray]
    axis: np.ndarray
    angle: np.ndarray

    @classmethod
    def from_rays(cls, dirs: np.ndarray, index: list[np.ndarray]) -> RayGroups:
        """Bounding cones of the given groups of unit rays ``dirs`` (N, 3)."""
        axes, angles = [], []
        for idx in index:
            a = dirs[idx].sum(axis=0)
            a /= max(np.linalg.norm(a), 1e-12)
            axes.append(a)
            angles.append(np.arccos(np.clip((dirs[idx] @ a).min(), -1.0, 1.0)))
        return cls(index, np.array(axes).reshape(-1, 3), np.array(angles))

    def rotated(self, rot: np.ndarray) -> RayGroups:
        """The same groups for the rays rotated by ``rot`` (3, 3)."""
        return RayGroups(self.index, self.axis @ rot.T, self.angle)


def _slab(o_loc: np.ndarray, d_loc: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry distance (P,) (``inf`` for a miss) and entry axis (P,) of rays against boxes.

    Args:
        o_loc: (P, 3) ray origins in the box frame.
        d_loc: (P, 3) ray directions in the box frame.
        half: (P, 3) box half extents.
    """
    safe = np.where(np.abs(d_loc) < 1e-12, 1e-12, d_loc)
    inv = 1.0 / safe
    t1 = (-half - o_loc) * inv
    t2 = (half - o_loc) * inv
    tmin = np.minimum(t1, t2)
    tnear = tmin.max(axis=1)
    tfar = np.maximum(t1, t2).min(axis=1)
    hit = (tfar >= tnear) & (tnear > 1e-6)
    return np.where(hit, tnear, np.inf), tmin.argmax(axis=1)


def cast_rays(
    origin: np.ndarray,
    dirs: np.ndarray,
    boxes: BoxSet,
    max_range: float = np.inf,
    chunk: int = 4096,
    groups: RayGroups | None = None,
) -> RayHits:
    """Cast rays from one origin against boxes and the ground plane z = 0.

    Args:
        origin: (3,) ray origin (must lie outside every box, above the ground).
        dirs: (N, 3) unit ray directions.
        boxes: the boxes, in the same frame as ``origin``.
        max_range: hits farther than this count as misses.
        chunk: rays per group when ``groups`` is not given (consecutive rays form a group, so a
            spatially coherent order makes the culling effective).
        groups: precomputed ray groups with their bounding cones (in the frame of ``dirs``).

    Returns:
        The first hit of every ray.
    """
    origin = np.asarray(origin, dtype=np.float64)
    dirs = np.asarray(dirs, dtype=np.float64)
    n = len(dirs)
    if groups is None:
        groups = RayGroups.from_rays(dirs, [np.arange(i, min(i + chunk, n)) for i in range(0, n, chunk)])
    depth = np.full(n, np.inf)
    obj = np.full(n, MISS, dtype=np.int64)
    axis = np.full(n, -1, dtype=np.int64)
    local = np.zeros((n, 3))
    radius = np.linalg.norm(boxes.half, axis=1)
    cos_y, sin_y = np.cos(boxes.yaw), np.sin(boxes.yaw)
    # Per-box quantities shared by all groups.
    rel_all = boxes.center - origin
    dist_all = np.maximum(np.linalg.norm(rel_all, axis=1), 1e-12)
    spread = np.where(dist_all <= radius, np.pi, np.arcsin(np.clip(radius / dist_all, 0.0, 1.0)))
    o_loc_all = np.stack(
        [
            -cos_y * rel_all[:, 0] - sin_y * rel_all[:, 1],
            sin_y * rel_all[:, 0] - cos_y * rel_all[:, 1],
            -rel_all[:, 2],
        ],
        axis=1,
    )
    # Cone culling of all (group, box) pairs at once: (C, M).
    ang = np.arccos(np.clip(groups.axis @ rel_all.T / dist_all, -1.0, 1.0))
    keep = ang <= groups.angle[:, None] + spread[None] + 1e-6
    keep &= (dist_all - radius <= max_range)[None]
    for g, rows in enumerate(groups.index):
        idx = np.flatnonzero(keep[g])
        if len(idx) == 0 or len(rows) == 0:
            continue
        d = dirs[rows]
        rel = rel_all[idx]
        tc = d @ rel.T
        r = radius[idx]
        ray_i, box_j = np.nonzero((dist_all[idx] ** 2 - r * r <= tc * tc) & (tc >= -r))
        if len(ray_i) == 0:
            continue
        b = idx[box_j]
        c, s = cos_y[b], sin_y[b]
        dd = d[ray_i]
        o_loc = o_loc_all[b]
        d_loc = np.stack([c * dd[:, 0] + s * dd[:, 1], -s * dd[:, 0] + c * dd[:, 1], dd[:, 2]], axis=1)
        t, ax = _slab(o_loc, d_loc, boxes.half[b])
        ok = np.isfinite(t)
        if not ok.any():
            continue
        ray_i, b, t, ax = ray_i[ok], b[ok], t[ok], ax[ok]
        o_loc, d_loc = o_loc[ok], d_loc[ok]
        order = np.lexsort((t, ray_i))
        ray_s = ray_i[order]
        first = order[np.r_[True, ray_s[1:] != ray_s[:-1]]]
        out = rows[ray_i[first]]
        depth[out] = t[first]
        obj[out] = b[first]
        axis[out] = ax[first]
        local[out] = o_loc[first] + t[first, None] * d_loc[first]
    # Ground plane z = 0.
    dz = dirs[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        t_ground = np.where(dz < -1e-12, -origin[2] / dz, np.inf)
    ground = t_ground < depth
    depth[ground] = t_ground[ground]
    obj[ground] = GROUND
    axis[ground] = 2
    local[ground] = 0.0
    far = depth > max_range
    depth[far] = np.inf
    obj[far] = MISS
    axis[far] = -1
    local[far] = 0.0
    finite = np.isfinite(depth)
    point = np.full((n, 3), np.nan)
    point[finite] = origin + depth[finite, None] * dirs[finite]
    normal = np.zeros((n, 3))
    normal[obj == GROUND, 2] = 1.0
    box_hit = obj >= 0
    if box_hit.any():
        b = obj[box_hit]
        ax = axis[box_hit]
        sign = np.sign(local[box_hit, ax])
        n_loc = np.zeros((len(b), 3))
        n_loc[np.arange(len(b)), ax] = sign
        c, s = cos_y[b], sin_y[b]
        normal[box_hit] = np.stack(
            [c * n_loc[:, 0] - s * n_loc[:, 1], s * n_loc[:, 0] + c * n_loc[:, 1], n_loc[:, 2]], axis=1
        )
    return RayHits(depth=depth, obj=obj, point=point, local=local, axis=axis, normal=normal)
