"""UniPAD's SDF rendering through the shared VolumeRenderer: NeuS density, importance sampler, field."""

import pytest
import torch

from mmssl.models.renderers import VolumeRenderer
from mmssl.registry import MODELS

BIG = [-60.0, -60.0, -10.0, 60.0, 60.0, 10.0]


def plane_field(distance):
    """The SDF of the plane x = distance, facing the origin (metres), with its exact gradient."""

    def field(points, view_dirs, with_color):
        sdf = distance - points[..., 0]
        grad = torch.zeros_like(points)
        grad[..., 0] = -1.0
        return {'raw': sdf, 'sdf_grad': grad}

    return field


def neus_renderer(init_val, num_coarse=128, num_fine=32, pcr=BIG):
    return MODELS.build(
        dict(
            type='VolumeRenderer',
            density=dict(type='NeuSDensity', init_val=init_val),
            sampler=dict(
                type='NeuSImportanceSampler',
                point_cloud_range=pcr,
                num_coarse=num_coarse,
                num_fine=num_fine,
                perturb=False,
            ),
            normalize_depth=True,
        )
    )


@pytest.mark.parametrize('norm', [1.0, 2.5])
def test_planar_sdf_depth_equals_the_plane_distance(norm):
    # rays along +x and oblique, parameterised with non-unit directions (t is not metres)
    dirs = torch.tensor([[[1.0, 0.0, 0.0], [0.8, 0.6, 0.0]]]) * norm
    origins = torch.zeros(1, 2, 3)
    errors = []
    for v in (0.3, 0.6, 0.9):  # inv_s = exp(10 v): 20, 403, 8103
        out = neus_renderer(v)(plane_field(12.0), origins, dirs, with_color=False)
        range_m = out['depth'] * dirs.norm(dim=-1)  # metres along the ray
        expected = torch.tensor([[12.0, 12.0 / 0.8]])
        errors.append((range_m - expected).abs().max().item())
        assert (out['weights'] >= 0).all()
    # stated tolerance: 2 cm once the logistic width (54 m / inv_s) is small
    assert errors[-1] < 0.02 and errors[0] > errors[-1]


def test_weights_peak_at_the_zero_crossing_and_fine_samples_cluster_there():
    renderer = neus_renderer(0.9)
    dirs = torch.tensor([[[1.0, 0.0, 0.0]]])
    out = renderer(plane_field(20.0), torch.zeros(1, 1, 3), dirs, with_color=False)
    t = out['t_vals'][0, 0]
    assert abs(t[out['weights'][0, 0].argmax()].item() - 20.0) < 0.3
    # the 32 up-sampled samples fall within the logistic width of the plane (inv_s 64 -> 0.84 m)
    near = ((t - 20.0).abs() < 2.0).sum().item()
    coarse_near = 128 * 4.0 / (t.max() - t.min()).item()  # what the stratified samples alone put there
    assert near >= 32 and near > coarse_near + 25


def test_near_is_at_least_one_metre_and_far_is_the_box_exit():
    sampler = MODELS.build(
        dict(
            type='NeuSImportanceSampler',
            point_cloud_range=[-10, -10, -5, 10, 10, 5],
            num_fine=0,
            perturb=False,
        )
    )
    o = torch.zeros(1, 2, 3)
    d = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 0.5, 0.0]]])
    near, far = sampler.bounds(o, d)
    assert torch.allclose(near * d.norm(dim=-1), torch.ones(1, 2))  # 1 m in metres
    assert torch.allclose(far * d.norm(dim=-1), torch.full((1, 2), 10.0))


def test_gradients_reach_the_volume_and_the_sharpness():
    torch.manual_seed(0)
    pcr = [-8.0, -8.0, -2.0, 8.0, 8.0, 2.0]
    head = MODELS.build(dict(type='SDFRenderField', in_channels=4, point_cloud_range=pcr, feat_channels=8))
    renderer = neus_renderer(0.3, num_coarse=16, num_fine=8, pcr=pcr)
    head.train()
    renderer.train()
    volume = torch.randn(1, 4, 3, 6, 6, requires_grad=True)
    field = head.field(head.build_fields(volume))
    o = torch.zeros(1, 5, 3)
    d = torch.nn.functional.normalize(torch.randn(1, 5, 3), dim=-1)
    out = renderer(field, o, d, with_color=True)
    assert out['rgb'].shape == (1, 5, 3) and (out['rgb'] >= 0).all() and (out['rgb'] <= 1).all()
    assert out['sdf_grad'].shape == (1, 5, 24, 3) and out['sdf'].shape == (1, 5, 24)
    (out['depth'].sum() + out['rgb'].sum() + out['sdf_grad'].norm(dim=-1).sum()).backward()
    assert volume.grad is not None and volume.grad.abs().sum() > 0
    assert renderer.density.variance.grad is not None and renderer.density.variance.grad.abs() > 0
    # the colour MLP reads the SDF gradient: double backward reaches the SDF MLP's first layer
    assert head.sdf_net.xyz.weight.grad.abs().sum() > 0


def test_sdf_gradient_is_the_autograd_gradient_of_the_field():
    torch.manual_seed(1)
    pcr = [-8.0, -8.0, -2.0, 8.0, 8.0, 2.0]
    head = MODELS.build(dict(type='SDFRenderField', in_channels=4, point_cloud_range=pcr, feat_channels=8))
    fields = head.build_fields(torch.randn(1, 4, 3, 6, 6))
    pts = torch.rand(1, 2, 3, 3) * 4 - 2
    out = head.field(fields)(pts, torch.zeros(1, 2, 3), False)
    eps = 1e-3
    for axis in range(3):
        step = torch.zeros(3)
        step[axis] = eps
        fd = (head.sdf(fields, pts + step)['sdf'] - head.sdf(fields, pts - step)['sdf']) / (2 * eps)
        torch.testing.assert_close(out['sdf_grad'][..., axis], fd, atol=2e-2, rtol=2e-2)


def test_shared_compositing_equals_nsmae_renderer_for_a_nerf_density():
    """UniPAD's renderer is the same VolumeRenderer: with NeRF density and the same samples it
    gives NS-MAE's rendering exactly (no second compositing code)."""
    torch.manual_seed(0)
    vol = torch.rand(1, 1, 4, 8, 8) * 2
    pcr = torch.tensor([-30.0, -30.0, -5.0, 21.0, 30.0, 5.0])

    def field(points, view_dirs, with_color):
        from mmssl.ops.volume_rendering import sample_volume

        return {'raw': sample_volume(vol, points, pcr)[..., 0] - 0.5}

    ns = MODELS.build(dict(type='VolumeRenderer', near=1.0, far=21.0, step=0.5))
    sdf_style = MODELS.build(
        dict(
            type='VolumeRenderer',
            density=dict(type='NeRFDensity'),
            sampler=dict(
                type='NeuSImportanceSampler',
                point_cloud_range=pcr.tolist(),
                num_coarse=40,
                num_fine=0,
                perturb=False,
            ),
        )
    )
    assert type(ns) is type(sdf_style) is VolumeRenderer
    o = torch.zeros(1, 1, 3)
    d = torch.tensor([[[1.0, 0.0, 0.0]]])  # exits the box at x = 21
    a, b = ns(field, o, d, with_color=False), sdf_style(field, o, d, with_color=False)
    torch.testing.assert_close(a['t_vals'], b['t_vals'])
    for key in ('depth', 'opacity', 'weights'):
        torch.testing.assert_close(a[key], b[key])
