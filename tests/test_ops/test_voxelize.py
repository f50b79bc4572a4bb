"""Pure-PyTorch voxelisation against a reference loop and mmcv's CPU op."""

import importlib.util
import math

import numpy as np
import pytest
import torch

from mmssl.ops import Voxelization, dynamic_voxelize, hard_voxelize, voxel_grid_size

VOXEL = [0.5, 0.5, 1.0]
PCR = [-2.0, -2.0, -1.0, 2.0, 2.0, 1.0]


def reference_hard_voxelize(points, voxel_size, pcr, max_points, max_voxels):
    """Straightforward loop with mmcv's documented semantics (first-come voxels and points)."""
    grid = [int(math.floor((pcr[i + 3] - pcr[i]) / voxel_size[i] + 0.5)) for i in range(3)]
    index = {}
    voxels, coors, counts = [], [], []
    pts = points.numpy()
    for p in pts:
        c = [
            int(np.floor((np.float32(p[i]) - np.float32(pcr[i])) / np.float32(voxel_size[i])))
            for i in range(3)
        ]
        if any(c[i] < 0 or c[i] >= grid[i] for i in range(3)):
            continue
        key = (c[2], c[1], c[0])
        if key not in index:
            if max_voxels != -1 and len(voxels) >= max_voxels:
                continue
            index[key] = len(voxels)
            voxels.append(np.zeros((max_points, pts.shape[1]), np.float32))
            coors.append(key)
            counts.append(0)
        v = index[key]
        if counts[v] < max_points:
            voxels[v][counts[v]] = p
            counts[v] += 1
    return np.array(voxels), np.array(coors, np.int32), np.array(counts, np.int32)


def _points(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    xyz = torch.rand(n, 3, generator=g) * torch.tensor([5.0, 5.0, 2.6]) - torch.tensor([2.5, 2.5, 1.3])
    feats = torch.rand(n, 2, generator=g)
    # Duplicate cells on purpose so voxels overflow max_points.
    return torch.cat([xyz, feats], 1)


def test_grid_size():
    assert voxel_grid_size([0.075, 0.075, 0.2], [-54, -54, -5, 54, 54, 3]) == [1440, 1440, 40]
    assert voxel_grid_size(VOXEL, PCR) == [8, 8, 2]
    with pytest.raises(ValueError, match='voxel_size'):
        voxel_grid_size([0.1, 0.1], PCR)


@pytest.mark.parametrize('max_points,max_voxels', [(3, 1000), (5, 20), (1, 7), (100, 1000)])
def test_hard_voxelize_matches_reference_loop(max_points, max_voxels):
    pts = _points()
    voxels, coors, num = hard_voxelize(pts, VOXEL, PCR, max_points, max_voxels)
    ref_v, ref_c, ref_n = reference_hard_voxelize(pts, VOXEL, PCR, max_points, max_voxels)
    assert voxels.shape == (len(ref_c), max_points, 5)
    np.testing.assert_array_equal(coors.numpy(), ref_c)
    np.testing.assert_array_equal(num.numpy(), ref_n)
    np.testing.assert_array_equal(voxels.numpy(), ref_v)


def test_dynamic_voxelize_reference_and_outside_points():
    pts = torch.tensor(
        [[0.1, -0.1, 0.0, 1.0], [-1.99, 1.99, -0.5, 1.0], [2.0, 0.0, 0.0, 1.0], [0.0, 0.0, 5.0, 1.0]]
    )
    coors = dynamic_voxelize(pts, VOXEL, PCR)
    assert coors.dtype == torch.int32
    # x=0.1 -> floor(2.1/0.5)=4, y=-0.1 -> 3, z=0 -> 1; (z, y, x) order.
    assert coors[0].tolist() == [1, 3, 4]
    assert coors[1].tolist() == [0, 7, 0]
    assert coors[2].tolist() == [-1, -1, -1]  # x == x_max is outside
    assert coors[3].tolist() == [-1, -1, -1]


def test_empty_and_all_outside():
    pts = torch.full((4, 4), 10.0)
    voxels, coors, num = hard_voxelize(pts, VOXEL, PCR, 5, 10)
    assert voxels.shape == (0, 5, 4) and coors.shape == (0, 3) and num.shape == (0,)


def test_module_train_test_budget_and_dynamic():
    pts = _points()
    layer = Voxelization(VOXEL, PCR, max_num_points=4, max_voxels=(10, 3))
    layer.train()
    assert layer(pts)[0].shape[0] == 10
    layer.eval()
    assert layer(pts)[0].shape[0] == 3
    dyn = Voxelization(VOXEL, PCR, max_num_points=-1, max_voxels=-1)
    assert torch.equal(dyn(pts), dynamic_voxelize(pts, VOXEL, PCR))


@pytest.mark.skipif(importlib.util.find_spec('mmcv') is None, reason='mmcv not installed')
@pytest.mark.parametrize('max_points,max_voxels', [(4, 1000), (2, 15)])
def test_hard_voxelize_equals_mmcv_cpu_op(max_points, max_voxels):
    from mmcv.ops import Voxelization as MMCVVoxelization

    pts = _points(2000, seed=1)
    ours = Voxelization(VOXEL, PCR, max_points, max_voxels).eval()
    theirs = MMCVVoxelization(VOXEL, PCR, max_points, max_voxels, deterministic=True).eval()
    for a, b in zip(ours(pts), theirs(pts)):
        assert torch.equal(a, b.to(a.dtype))
    dyn_theirs = MMCVVoxelization(VOXEL, PCR, -1, -1)(pts)
    assert torch.equal(dynamic_voxelize(pts, VOXEL, PCR), dyn_theirs)


def test_real_nuscenes_sweep_equals_reference(nuscenes_demo_dir):
    path = next(nuscenes_demo_dir.glob('*LIDAR_TOP*.bin'))
    pts = torch.from_numpy(np.fromfile(path, np.float32).reshape(-1, 5))[::20].contiguous()
    voxel, pcr = [0.6, 0.6, 8.0], [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
    voxels, coors, num = hard_voxelize(pts, voxel, pcr, 10, 400)
    ref_v, ref_c, ref_n = reference_hard_voxelize(pts, voxel, pcr, 10, 400)
    assert len(ref_c) == 400  # the voxel budget is hit on the real sweep
    np.testing.assert_array_equal(coors.numpy(), ref_c)
    np.testing.assert_array_equal(num.numpy(), ref_n)
    np.testing.assert_array_equal(voxels.numpy(), ref_v)
