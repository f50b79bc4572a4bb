"""SDF rendering ops against closed forms: trilinear reads, NeuS/VolSDF alpha, up-sampling, boxes."""

import pytest
import torch

from mmssl.ops.sdf_rendering import (
    laplace_alpha,
    neus_alpha,
    neus_upsample,
    ray_aabb,
    sample_pdf,
    trilinear_sample,
)
from mmssl.ops.volume_rendering import composite, sample_volume

PCR = torch.tensor([-2.0, -3.0, -1.0, 2.0, 3.0, 1.0])


def test_trilinear_equals_grid_sample_and_differentiates_twice():
    torch.manual_seed(0)
    vol = torch.randn(2, 3, 4, 6, 5)
    pts = (torch.rand(2, 7, 3) * 2 - 1) * PCR[3:] * 1.2  # some points outside the volume
    ref = sample_volume(vol, pts, PCR)
    assert torch.allclose(trilinear_sample(vol, pts, PCR), ref, atol=1e-5)
    # d/dx of the read, then d/dvolume of a function of that gradient: grid_sample cannot do this
    vol.requires_grad_(True)
    x = pts.clone().requires_grad_(True)
    out = trilinear_sample(vol, x, PCR).sum()
    (g,) = torch.autograd.grad(out, x, create_graph=True)
    (g * g).sum().backward()
    assert vol.grad is not None and vol.grad.abs().sum() > 0
    # the point gradient of a linear volume is its slope (inside, away from the border cells)
    zz, yy, xx = torch.meshgrid(torch.arange(4.0), torch.arange(6.0), torch.arange(5.0), indexing='ij')
    lin = (3.0 * xx).view(1, 1, 4, 6, 5)  # 3 per voxel along x = 3 / 0.8 per metre
    p = torch.tensor([[[0.1, 0.2, 0.05]]], requires_grad=True)
    (gx,) = torch.autograd.grad(trilinear_sample(lin, p, PCR).sum(), p)
    assert torch.allclose(gx, torch.tensor([[[3.0 / 0.8, 0.0, 0.0]]]), atol=1e-5)


def _plane_weights(inv_s, distance=7.3, step=0.05, scale=1 / 54):
    t = torch.arange(0.0, 20.0, step) + step / 2
    sdf = distance - t  # a plane facing the ray, metres
    alpha = neus_alpha(sdf * scale, torch.full_like(t, step * scale), torch.full_like(t, -1.0), inv_s)
    return t, alpha, composite(alpha)


@pytest.mark.parametrize('inv_s', [20.0, 200.0, 2000.0, 20000.0])
def test_neus_alpha_in_unit_interval_and_peaks_at_the_plane(inv_s):
    t, alpha, w = _plane_weights(inv_s)
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert abs(t[w.argmax()].item() - 7.3) <= 0.05  # the sample whose interval holds the crossing


def test_neus_expected_depth_converges_to_the_plane():
    errors = []
    for inv_s in (20.0, 200.0, 2000.0, 20000.0):
        t, _, w = _plane_weights(inv_s)
        depth = (w * t).sum() / w.sum()
        errors.append(abs(depth.item() - 7.3))
    # stated tolerance: 5 cm (one sample step) once the logistic width 54 m / inv_s is below it
    assert errors[-1] < 0.05 and errors[-2] < 0.05
    assert errors[0] > errors[-1]
    # opacity of a plane well inside the range is 1
    assert abs(_plane_weights(2000.0)[2].sum().item() - 1.0) < 1e-3


def test_neus_alpha_random_inputs_bounded():
    torch.manual_seed(0)
    sdf, d, cos = torch.randn(1000), torch.rand(1000), torch.rand(1000) * 2 - 1
    for r in (0.0, 0.5, 1.0):
        a = neus_alpha(sdf, d, cos, 30.0, r)
        assert a.min() >= 0 and a.max() <= 1


def test_laplace_alpha_closed_form():
    beta, delta = 0.1, 0.2
    deep = laplace_alpha(torch.tensor([-10.0]), torch.tensor([delta]), beta)
    # sigma -> 1 / beta deep inside
    assert torch.allclose(deep, torch.tensor([1 - torch.exp(torch.tensor(-delta / beta))]), atol=1e-6)
    surface = laplace_alpha(torch.tensor([0.0]), torch.tensor([delta]), beta)
    assert torch.allclose(
        surface, torch.tensor([1 - torch.exp(torch.tensor(-0.5 * delta / beta))]), atol=1e-6
    )
    far_out = laplace_alpha(torch.tensor([10.0]), torch.tensor([delta]), beta)
    assert far_out.item() < 1e-20


def test_sample_pdf_uniform_weights_give_even_spacing():
    bins = torch.linspace(0, 10, 11).view(1, -1)
    s = sample_pdf(bins, torch.ones(1, 10), 5, det=True)
    assert torch.allclose(s, torch.tensor([[1.0, 3.0, 5.0, 7.0, 9.0]]), atol=1e-3)
    # all weight in bin [4, 5]
    w = torch.zeros(1, 10)
    w[0, 4] = 1.0
    s = sample_pdf(bins, w, 8, det=True)
    assert ((s >= 4.0) & (s <= 5.0)).float().mean() > 0.95


def test_upsampling_concentrates_near_the_surface():
    t = torch.linspace(1.0, 40.0, 72).expand(3, 72).contiguous()
    planes = torch.tensor([[5.0], [17.3], [33.0]])
    sdf = (planes - t) / 54  # normalised units
    fine = neus_upsample(t, sdf, 24, inv_s=64.0)
    # UniPAD's sharpness 64 in units of 54 m: a logistic width of about 0.84 m around each plane
    dist = (fine - planes).abs()
    assert dist.max() < 4.0 and dist.mean() < 1.5  # the tail quantiles reach about 4 widths
    assert (t - planes).abs().mean() > 8.0  # the coarse samples spread over the whole ray
    # a sharper pass tightens them (the samples follow the section weights)
    assert (neus_upsample(t, sdf, 24, inv_s=512.0) - planes).abs().mean() < 0.3


def test_ray_aabb_known_box():
    box = torch.tensor([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0])
    o = torch.tensor([[-3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-3.0, 5.0, 0.0]])
    d = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    near, far = ray_aabb(o, d, box)
    assert torch.allclose(near[:2], torch.tensor([1.0, -1.0])) and torch.allclose(
        far[:2], torch.tensor([2.0, 1.0])
    )
    assert far[2] <= near[2]  # misses
