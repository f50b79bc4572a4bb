"""Pure-PyTorch BEV pooling against a reference loop."""

import pytest
import torch

from mmssl.ops import bev_pool, collapse_z, points_to_voxel_coords


def reference_pool(feats, coords, batch_size, grid_shape):
    nx, ny, nz = grid_shape
    out = torch.zeros(batch_size, feats.shape[1], nz, ny, nx, dtype=torch.float64)
    for f, (b, z, y, x) in zip(feats.double(), coords.tolist()):
        out[b, :, z, y, x] += f
    return out


def test_bev_pool_sum_and_mean_match_loop():
    g = torch.Generator().manual_seed(0)
    grid = (5, 4, 3)  # X, Y, Z
    m = 200
    coords = torch.stack(
        [
            torch.randint(0, 2, (m,), generator=g),
            torch.randint(0, 3, (m,), generator=g),
            torch.randint(0, 4, (m,), generator=g),
            torch.randint(0, 5, (m,), generator=g),
        ],
        1,
    )
    feats = torch.randn(m, 6, generator=g, requires_grad=True)
    out = bev_pool(feats, coords, 2, grid)
    ref = reference_pool(feats.detach(), coords, 2, grid)
    assert out.shape == (2, 6, 3, 4, 5)
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)
    counts = reference_pool(torch.ones(m, 1), coords, 2, grid).clamp(min=1)
    mean = bev_pool(feats, coords, 2, grid, reduce='mean')
    torch.testing.assert_close(mean.double(), ref / counts, rtol=1e-5, atol=1e-5)
    # d out / d feats of a sum is one for every point.
    out.sum().backward()
    torch.testing.assert_close(feats.grad, torch.ones_like(feats))
    assert collapse_z(out).shape == (2, 18, 4, 5)
    assert torch.equal(collapse_z(out)[:, 1 * 3 + 2], out[:, 1, 2])


def test_points_to_voxel_coords_and_bad_input():
    pts = torch.tensor([[[0.05, 0.25, -0.9], [1.0, 0.0, 0.0], [-0.01, 0.0, 0.0]]])
    coords, inside = points_to_voxel_coords(pts, (0.0, 0.0, -1.0), (0.1, 0.1, 0.5), (10, 10, 4))
    assert coords[0, 0].tolist() == [0, 2, 0]
    assert inside.tolist() == [[True, False, False]]
    with pytest.raises(ValueError, match='coords'):
        bev_pool(torch.zeros(3, 2), torch.zeros(3, 3, dtype=torch.long), 1, (2, 2, 1))
    with pytest.raises(ValueError, match='reduce'):
        bev_pool(torch.zeros(3, 2), torch.zeros(3, 4, dtype=torch.long), 1, (2, 2, 1), 'max')
