"""mmssl.geometry and mmssl.ops.masking against closed forms / reference loops."""

import math

import numpy as np
import pytest
import torch

from mmssl import geometry as F
from mmssl.ops import masking as M


def test_pad_and_compose():
    k = torch.tensor([[100.0, 0, 50], [0, 100, 40], [0, 0, 1]], dtype=torch.float64)
    padded = F.pad_cam2img(k)
    assert padded.shape == (4, 4) and torch.equal(padded[:3, :3], k)
    assert torch.equal(padded[3], torch.tensor([0, 0, 0, 1.0], dtype=torch.float64))
    l2c = torch.eye(4, dtype=torch.float64)
    l2c[:3, 3] = torch.tensor([1.0, 2.0, 3.0])
    l2i = F.compose_lidar2img(k, l2c)
    # point (0, 0, 7) -> camera (1, 2, 10) -> pixel (100 * 0.1 + 50, 100 * 0.2 + 40)
    uv, d = F.project_points(torch.tensor([[0.0, 0.0, 7.0]], dtype=torch.float64), l2i)
    assert torch.allclose(uv, torch.tensor([[60.0, 60.0]], dtype=torch.float64))
    assert torch.allclose(d, torch.tensor([10.0], dtype=torch.float64))
    with pytest.raises(ValueError):
        F.pad_cam2img(torch.eye(2))


def test_img_aug_projective_matches_pixel_map():
    aug = torch.eye(4, dtype=torch.float64)
    aug[:2, :2] = torch.tensor([[0.5, 0.1], [-0.1, 0.5]])
    aug[:2, 3] = torch.tensor([-7.0, 3.0])
    l2i = torch.tensor(
        [[800.0, 0, 600, 5], [0, 800, 300, -2], [0, 0, 1, 0.3], [0, 0, 0, 1]], dtype=torch.float64
    )
    pts = torch.randn(50, 3, dtype=torch.float64) + torch.tensor([0, 0, 20.0])
    uv, d = F.project_points(pts, l2i)
    uv2, d2 = F.project_points(pts, F.img_aug_to_projective(aug) @ l2i)
    expect = uv @ aug[:2, :2].T + aug[:2, 3]
    assert torch.allclose(uv2, expect) and torch.allclose(d2, d)


def _grid_pts():
    g = torch.Generator().manual_seed(0)
    return torch.rand(2000, 4, generator=g, dtype=torch.float64) * torch.tensor(
        [20.0, 20.0, 4.0, 1.0]
    ) - torch.tensor([10.0, 10.0, 2.0, 0.0])


def test_depth_maps_nearest_wins_reference_loop():
    pts = torch.rand(3000, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    pts = pts * torch.tensor([10.0, 6.0, 30.0]) - torch.tensor([5.0, 3.0, -0.5])
    l2i = torch.stack(
        [F.pad_cam2img(torch.tensor([[20.0, 0, 16], [0, 20, 12], [0, 0, 1]], dtype=torch.float64))] * 2
    )
    l2i[1, 0, 3] = 40.0  # second camera shifted
    for stride in (1, 4):
        out = F.depth_maps(pts, l2i, (24, 32), stride=stride)
        assert out.shape == (2, 24 // stride, 32 // stride)
        ref = torch.zeros_like(out)
        for c in range(2):
            uvw = (l2i[c] @ torch.cat([pts, torch.ones(len(pts), 1, dtype=pts.dtype)], 1).T).T
            for x, y, z, _ in uvw.tolist():
                if z <= 1e-3:
                    continue
                u, v = x / z, y / z
                if 0 <= u < 32 and 0 <= v < 24:
                    i, j = int(math.floor(v / stride)), int(math.floor(u / stride))
                    if ref[c, i, j] == 0 or z < ref[c, i, j]:
                        ref[c, i, j] = z
        assert torch.equal(out, ref)
        assert (out > 0).sum() > 50


def test_bev_and_occupancy_reference_loop():
    pts = _grid_pts()
    pcr = [-8.0, -8.0, -1.5, 8.0, 8.0, 1.5]
    depth, height, occ = F.bev_depth_height(pts, pcr, [2.0, 1.0])
    assert depth.shape == (16, 8)
    top = {}
    for x, y, z, _ in pts.tolist():
        if -8 <= x < 8 and -8 <= y < 8 and -1.5 <= z < 1.5:
            key = (math.floor((y + 8) / 1.0), math.floor((x + 8) / 2.0))
            top[key] = max(top.get(key, -1e9), z)
    assert int(occ.sum()) == len(top)
    for (i, j), z in top.items():
        assert occ[i, j]
        assert height[i, j].item() == pytest.approx(z + 1.5)
        assert depth[i, j].item() == pytest.approx(1.5 - z)
    assert torch.all(depth[~occ] == 0) and torch.all(height[~occ] == 0)

    grid = F.occupancy_grid(pts, pcr, [2.0, 1.0, 0.5])
    assert grid.shape == (6, 16, 8) and grid.dtype == torch.bool
    cells = set()
    for x, y, z, _ in pts.tolist():
        if -8 <= x < 8 and -8 <= y < 8 and -1.5 <= z < 1.5:
            cells.add((math.floor((z + 1.5) / 0.5), math.floor((y + 8) / 1.0), math.floor((x + 8) / 2.0)))
    assert set(map(tuple, torch.nonzero(grid).tolist())) == cells


def test_unique_voxels_linear_equals_rows():
    coords = torch.randint(0, 7, (500, 3), generator=torch.Generator().manual_seed(2))
    v1, i1 = F.unique_voxels(coords)
    v2, i2 = F.unique_voxels(coords, (7, 7, 7))
    assert torch.equal(v1, v2) and torch.equal(i1, i2) and torch.equal(v2[i2], coords)


@pytest.mark.parametrize('ratio', [0.0, 0.25, 0.5, 0.9, 1.0])
def test_exact_random_mask(ratio):
    m = M.exact_random_mask(1001, ratio, torch.Generator().manual_seed(0))
    assert int(m.sum()) == round(ratio * 1001)


def test_image_patch_mask_exact_shared_and_seeded():
    g = torch.Generator().manual_seed(3)
    m = M.image_patch_mask(6, (256, 704), 8, 0.5, generator=g)
    assert m.shape == (6, 32, 88) and m.dtype == torch.bool
    assert m.flatten(1).sum(1).tolist() == [1408] * 6
    assert not all(torch.equal(m[0], m[i]) for i in range(1, 6))
    s = M.image_patch_mask(6, (128, 352), 4, 0.5, shared=True, generator=g)
    assert s.shape == (6, 32, 88) and all(torch.equal(s[0], s[i]) for i in range(6))
    a = M.image_patch_mask(2, (32, 32), 4, 0.3, generator=torch.Generator().manual_seed(9))
    b = M.image_patch_mask(2, (32, 32), 4, 0.3, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b) and a.flatten(1).sum(1).tolist() == [round(0.3 * 64)] * 2
    with pytest.raises(ValueError, match='divisible'):
        M.image_patch_mask(1, (30, 32), 4, 0.5)


def test_range_aware_and_bev_guided_counts():
    g = torch.Generator().manual_seed(4)
    xy = (torch.rand(5000, 2, generator=g, dtype=torch.float64) - 0.5) * 160
    mask = M.range_aware_voxel_mask(xy, (30.0, 50.0), (0.9, 0.7, 0.5), g)
    dist = xy.norm(dim=1)
    for band, ratio in ((dist <= 30, 0.9), ((dist > 30) & (dist <= 50), 0.7), (dist > 50, 0.5)):
        assert int(mask[band].sum()) == round(ratio * int(band.sum()))
    occ = torch.rand(40, 30, generator=g) < 0.2
    ne, e = M.bev_guided_mask(occ, 0.5, 0.25, g)
    assert not (ne & e).any() and not (ne & ~occ).any() and not (e & occ).any()
    assert int(ne.sum()) == round(0.5 * int(occ.sum()))
    assert int(e.sum()) == round(0.25 * int((~occ).sum()))


def test_point_to_pixel_direct():
    pts = torch.tensor(
        [[0.0, 0.0, 10.0], [1.0, 0.0, 10.0], [0.0, 0.0, -1.0], [100.0, 0, 10.0]], dtype=torch.float64
    )
    l2i = torch.stack(
        [F.pad_cam2img(torch.tensor([[10.0, 0, 8], [0, 10, 6], [0, 0, 1]], dtype=torch.float64))] * 2
    )
    l2i[1, 0, 3] = -10.0  # second camera: u shifted by -1 px at depth 10
    p2p = F.point_to_pixel(pts, l2i, (12, 16))
    expect = np.array([[0, 0, 8, 6], [1, 0, 9, 6], [0, 1, 7, 6], [1, 1, 8, 6]], np.float32)
    assert np.allclose(p2p.numpy(), expect)
