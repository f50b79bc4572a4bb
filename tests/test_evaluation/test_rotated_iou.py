"""The CPU stand-in for MMDet3D's CUDA rotated BEV IoU against exact polygon clipping."""

import math

import numpy as np
import pytest
from shapely.geometry import Polygon

from mmssl.evaluation.functional import kitti_rotate_iou_cpu


def _kitti_polygon(box):
    """Corners as rotate_iou.rbbox_to_corners builds them (rotation [[c, s], [-s, c]])."""
    x, y, dx, dy, a = (float(v) for v in box)
    c, s = math.cos(a), math.sin(a)
    local = [(-dx / 2, -dy / 2), (-dx / 2, dy / 2), (dx / 2, dy / 2), (dx / 2, -dy / 2)]
    return Polygon([(c * u + s * v + x, -s * u + c * v + y) for u, v in local])


def _boxes(rng, n):
    return np.concatenate(
        [rng.uniform(-5, 5, (n, 2)), rng.uniform(0.5, 4, (n, 2)), rng.uniform(-np.pi, np.pi, (n, 1))], 1
    ).astype(np.float32)


@pytest.mark.parametrize('criterion', [-1, 0, 1, 2])
def test_matches_polygon_clipping(criterion):
    rng = np.random.default_rng(0)
    boxes, query = _boxes(rng, 30), _boxes(rng, 20)
    query[:8] = boxes[:8]  # identical boxes
    query[8:14, :4] = boxes[8:14, :4]  # same box, other heading
    ref = np.zeros((30, 20))
    for i, b in enumerate(boxes):
        for j, q in enumerate(query):
            pb, pq = _kitti_polygon(b), _kitti_polygon(q)
            inter = pb.intersection(pq).area
            ref[i, j] = {-1: inter / (pb.area + pq.area - inter), 0: inter / pb.area, 1: inter / pq.area}.get(
                criterion, inter
            )
    out = kitti_rotate_iou_cpu(boxes, query, criterion)
    assert out.shape == (30, 20) and out.dtype == np.float32
    assert (ref > 0).mean() > 0.15  # the draw has real overlaps, not just zeros
    np.testing.assert_allclose(out, ref, atol=2e-5 * max(1.0, ref.max()))
    if criterion == -1:
        np.testing.assert_allclose(np.diag(out[:8, :8]), 1.0, atol=1e-5)


def test_empty_inputs():
    assert kitti_rotate_iou_cpu(np.zeros((0, 5)), np.ones((3, 5))).shape == (0, 3)
