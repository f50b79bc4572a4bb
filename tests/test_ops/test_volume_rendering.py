"""Closed-form checks of the volume-rendering quadrature (NS-MAE eqs. 2 and 4)."""

import math

import pytest
import torch

from mmssl.ops.rays import uniform_samples
from mmssl.ops.volume_rendering import (
    composite,
    nerf_alpha,
    sample_volume,
    transmittance_from_alpha,
    volume_render,
)


def _slab(sigma: float, a: float, b: float, step: float, far: float):
    t, d = uniform_samples(0.0, far, step)
    raw = torch.where((t >= a) & (t < b), torch.full_like(t, sigma), torch.zeros_like(t))
    return t, d, raw


@pytest.mark.parametrize('sigma', [0.3, 1.0, 5.0])
def test_constant_slab_opacity_and_depth_closed_form(sigma):
    a, b, step = 2.0, 5.0, 0.01
    t, d, raw = _slab(sigma, a, b, step, far=10.0)
    out = volume_render(nerf_alpha(raw, d), t)
    length = b - a
    opacity = 1 - math.exp(-sigma * length)
    # E[t * 1{terminates}] = int_a^b t sigma exp(-sigma (t - a)) dt
    depth = a * opacity + (1 - math.exp(-sigma * length)) / sigma - length * math.exp(-sigma * length)
    assert out['opacity'].item() == pytest.approx(opacity, rel=1e-5)
    # midpoint quadrature error is O(sigma * step^2)
    assert out['depth'].item() == pytest.approx(depth, abs=1e-4)
    norm = volume_render(nerf_alpha(raw, d), t, normalize_depth=True)['depth'].item()
    assert norm == pytest.approx(depth / opacity, abs=1e-4)


def test_transmittance_is_exp_of_exclusive_optical_depth():
    g = torch.Generator().manual_seed(0)
    sigma = torch.rand(4, 30, generator=g) * 3
    delta = torch.rand(4, 30, generator=g) * 0.5
    trans = transmittance_from_alpha(nerf_alpha(sigma, delta))
    ref = torch.exp(-(torch.cumsum(sigma * delta, -1) - sigma * delta))
    torch.testing.assert_close(trans, ref, rtol=1e-5, atol=1e-6)
    w = composite(nerf_alpha(sigma, delta))
    torch.testing.assert_close(w.sum(-1), 1 - torch.exp(-(sigma * delta).sum(-1)), rtol=1e-5, atol=1e-6)


def test_colour_is_weighted_sum_and_opaque_wall_returns_wall_colour():
    t, d = uniform_samples(0.0, 4.0, 0.5)
    raw = torch.zeros_like(t)
    raw[0, 3] = 1e4  # an opaque wall in bin 3
    colour = torch.rand(1, t.shape[1], 3)
    out = volume_render(nerf_alpha(raw, d), t, colour)
    torch.testing.assert_close(out['value'], colour[:, 3])
    assert out['depth'].item() == pytest.approx(t[0, 3].item())
    bg = torch.tensor([1.0, 0.5, 0.25])
    out = volume_render(torch.zeros_like(t), t, colour, background=bg)
    torch.testing.assert_close(out['value'][0], bg)


def test_empty_volume_renders_nothing():
    vol = torch.zeros(1, 4, 6, 8, 8)
    pc_range = torch.tensor([-4.0, -4.0, -3.0, 4.0, 4.0, 3.0])
    t, d = uniform_samples(0.0, 6.0, 0.2, num_rays=5)
    pts = torch.tensor([0.0, 0.0, 3.0]) + t.unsqueeze(-1) * torch.tensor([0.0, 0.0, -1.0])
    feat = sample_volume(vol, pts.unsqueeze(0), pc_range)  # (1, 5, S, 4)
    out = volume_render(nerf_alpha(feat[0, ..., 0], d), t, feat[0, ..., 1:])
    assert torch.all(out['opacity'] == 0) and torch.all(out['depth'] == 0)
    assert torch.all(out['value'] == 0)


def test_sample_volume_axis_order_at_voxel_centres():
    z, y, x = 3, 4, 5
    vol = torch.arange(z * y * x, dtype=torch.float32).reshape(1, 1, z, y, x)
    pc_range = torch.tensor([0.0, 0.0, 0.0, 5.0, 8.0, 6.0])  # voxel 1 x 2 x 2 m
    k, j, i = 2, 1, 3
    centre = torch.tensor([[[i + 0.5, 2 * j + 1.0, 2 * k + 1.0]]])
    assert sample_volume(vol, centre, pc_range).item() == vol[0, 0, k, j, i].item()
    # half-way between two x-neighbours: trilinear average
    mid = centre + torch.tensor([0.5, 0.0, 0.0])
    val = sample_volume(vol, mid, pc_range).item()
    assert val == pytest.approx((vol[0, 0, k, j, i] + vol[0, 0, k, j, i + 1]).item() / 2)


def test_constant_density_volume_along_grid_ray():
    sigma = 0.4
    vol = torch.full((1, 1, 4, 4, 20), sigma)
    pc_range = torch.tensor([0.0, 0.0, 0.0, 20.0, 4.0, 4.0])
    t, d = uniform_samples(0.5, 19.5, 0.05)  # stays between first and last voxel centres
    pts = torch.tensor([0.0, 2.0, 2.0]) + t.unsqueeze(-1) * torch.tensor([1.0, 0.0, 0.0])
    raw = sample_volume(vol, pts.unsqueeze(0), pc_range)[0, ..., 0]
    out = volume_render(nerf_alpha(raw, d), t)
    assert out['opacity'].item() == pytest.approx(1 - math.exp(-sigma * 19.0), rel=1e-5)


def test_gradients_reach_embedding_volume():
    g = torch.Generator().manual_seed(1)
    vol = (torch.rand(1, 4, 3, 5, 6, generator=g, dtype=torch.float64)).requires_grad_()
    pc_range = torch.tensor([-3.0, -2.5, -1.5, 3.0, 2.5, 1.5], dtype=torch.float64)
    t, d = uniform_samples(0.0, 2.8, 0.2, num_rays=3)
    t, d = t.double(), d.double()
    dirs = torch.tensor([[1.0, 0.2, 0.1], [-0.5, 0.7, -0.3], [0.0, -1.0, 0.4]], dtype=torch.float64)
    pts = (t.unsqueeze(-1) * dirs.unsqueeze(1)).unsqueeze(0)

    def fn(v):
        feat = sample_volume(v, pts, pc_range)[0]
        out = volume_render(nerf_alpha(feat[..., 0], d, 'softplus'), t, torch.sigmoid(feat[..., 1:]))
        return out['depth'].sum() + out['value'].sum()

    fn(vol).backward()
    assert torch.isfinite(vol.grad).all() and vol.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(fn, (vol.detach().requires_grad_(),), eps=1e-6, atol=1e-5)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match='same shape'):
        volume_render(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='activation'):
        nerf_alpha(torch.zeros(1), torch.zeros(1), 'exp')
