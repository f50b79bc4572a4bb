"""Target transforms on the real nuScenes keyframe, checked against direct computations."""

import copy

import numpy as np
import pytest
import torch

from mmssl.registry import TRANSFORMS

PCR = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]


def _project_np(points, lidar2img):
    xyz1 = np.concatenate([points[:, :3], np.ones((len(points), 1))], 1)
    cam = xyz1 @ lidar2img.T
    return cam[:, :2] / np.maximum(cam[:, 2:3], 1e-6), cam[:, 2]


@pytest.fixture
def small_results(nus_results):
    np.random.seed(0)
    aug = TRANSFORMS.build(
        dict(
            type='ImageAug3D',
            final_dim=(128, 352),
            resize_lim=(0.22, 0.3),
            rot_lim=(-5.0, 5.0),
            rand_flip=True,
        )
    )
    rot = TRANSFORMS.build(dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.5, 0.5]))
    return rot(aug(nus_results))


def test_depth_maps_match_reference(small_results):
    out = TRANSFORMS.build(dict(type='DepthMapTarget'))(copy.deepcopy(small_results))
    dm = out['depth_maps']
    assert dm.shape == (6, 128, 352) and dm.dtype == torch.float32
    pts = small_results['points'].tensor.numpy().astype(np.float64)
    for c in range(6):
        uv, d = _project_np(pts, small_results['lidar2img'][c])
        ok = (d > 1e-3) & (uv[:, 0] >= 0) & (uv[:, 0] < 352) & (uv[:, 1] >= 0) & (uv[:, 1] < 128)
        ref = np.zeros((128, 352))
        order = np.argsort(-d[ok])  # far first, nearest written last wins
        cols = np.floor(uv[ok][order, 0]).astype(int)
        rows = np.floor(uv[ok][order, 1]).astype(int)
        ref[rows, cols] = d[ok][order]
        assert np.allclose(dm[c].numpy(), ref, atol=1e-4)
        assert (ref > 0).sum() > 300
    strided = TRANSFORMS.build(dict(type='DepthMapTarget', stride=8))(copy.deepcopy(small_results))[
        'depth_maps'
    ]
    blocks = dm.view(6, 16, 8, 44, 8).permute(0, 1, 3, 2, 4).reshape(6, 16, 44, 64)
    blocks = torch.where(blocks > 0, blocks, torch.full_like(blocks, float('inf'))).amin(-1)
    blocks[torch.isinf(blocks)] = 0
    assert torch.allclose(strided, blocks)


def test_point_counts_per_camera_at_full_resolution(nus_results):
    """The shared data README: 3,067 to 4,826 points inside each 1600x900 image."""
    out = TRANSFORMS.build(dict(type='PointToPixelTarget'))(nus_results)
    p2p = out['point2pixel']
    counts = torch.bincount(p2p[:, 1].long(), minlength=6)
    assert counts.min().item() == 3067 and counts.max().item() == 4826
    seen = torch.unique(p2p[:, 0].long())
    assert abs(len(seen) / len(nus_results['points']) - 0.58) < 0.01


def test_point2pixel_matches_projection(small_results):
    out = TRANSFORMS.build(dict(type='PointToPixelTarget'))(copy.deepcopy(small_results))
    p2p = out['point2pixel'].numpy()
    pts = small_results['points'].tensor.numpy().astype(np.float64)
    total = 0
    for c in range(6):
        uv, d = _project_np(pts, small_results['lidar2img'][c])
        ok = (d > 1e-3) & (uv[:, 0] >= 0) & (uv[:, 0] < 352) & (uv[:, 1] >= 0) & (uv[:, 1] < 128)
        rows = p2p[p2p[:, 1] == c]
        assert np.array_equal(rows[:, 0].astype(int), np.nonzero(ok)[0])
        assert np.allclose(rows[:, 2:], uv[ok], atol=1e-3)
        total += ok.sum()
    assert len(p2p) == total


def test_bev_and_occupancy_match_loops(small_results):
    cfg = dict(type='BEVDepthHeightTarget', point_cloud_range=PCR, bev_cell_size=[1.2, 1.2])
    out = TRANSFORMS.build(cfg)(copy.deepcopy(small_results))
    out = TRANSFORMS.build(dict(type='OccupancyTarget', point_cloud_range=PCR, voxel_size=[1.2, 1.2, 0.5]))(
        out
    )
    assert out['bev_depth'].shape == (90, 90) and out['occupancy'].shape == (16, 90, 90)
    pts = small_results['points'].tensor.numpy().astype(np.float64)
    top, cells = {}, set()
    for x, y, z in pts[:, :3].tolist():
        if -54 <= x < 54 and -54 <= y < 54 and -5 <= z < 3:
            i, j = int(np.floor((y + 54) / 1.2)), int(np.floor((x + 54) / 1.2))
            k = int(np.floor((z + 5) / 0.5))
            top[(i, j)] = max(top.get((i, j), -1e9), z)
            cells.add((k, i, j))
    occ = out['bev_occupied']
    assert int(occ.sum()) == len(top) > 500
    ij = np.array(list(top))
    z_top = np.array(list(top.values()))
    assert np.allclose(out['bev_height'].numpy()[ij[:, 0], ij[:, 1]], z_top + 5, atol=1e-5)
    assert np.allclose(out['bev_depth'].numpy()[ij[:, 0], ij[:, 1]], 3 - z_top, atol=1e-5)
    assert set(map(tuple, torch.nonzero(out['occupancy']).tolist())) == cells
