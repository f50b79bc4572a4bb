"""Ray samplers against the geometry they are built from, and the renderer's field contract."""

import pytest
import torch
from mmengine.structures import BaseDataElement
from torch import nn

from mmssl.geometry import bev_depth_height, compose_lidar2img, depth_maps
from mmssl.models.ray_samplers import RenderContext
from mmssl.registry import MODELS


def _camera_ctx(with_pipeline_depth=False):
    k = torch.tensor([[20.0, 0, 16], [0, 20, 12], [0, 0, 1]])
    lidar2cam = torch.tensor([[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]])  # x forward
    l2i = compose_lidar2img(k, lidar2cam)[None, None]  # (1, 1, 4, 4)
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(400, 3, generator=g) * torch.tensor([20.0, 10.0, 4.0]) + torch.tensor([2.0, -5.0, -2.0])
    sample = BaseDataElement()
    if with_pipeline_depth:
        sample.ssl_targets = BaseDataElement(depth_maps=torch.full((1, 24, 32), 7.0))
    colour = torch.rand(1, 1, 3, 24, 32, generator=g)
    return RenderContext([sample], [pts], colour, l2i)


def test_perspective_sampler_rays_hit_their_depth_targets():
    ctx = _camera_ctx()
    sampler = MODELS.build(dict(type='PerspectiveRaySampler', num_random=30, num_depth=50))
    rays = sampler(ctx, torch.Generator().manual_seed(1))
    assert rays.origins.shape == rays.directions.shape == (1, 80, 3)
    depth, valid = rays.targets['depth'][0], rays.targets['valid'][0]
    assert valid[30:].all()  # the depth rays are drawn among pixels with a LiDAR point
    # a point at camera depth d along a depth ray projects back into the ray's pixel
    p = rays.origins[0, valid] + depth[valid, None] * rays.directions[0, valid]
    proj = torch.cat([p, torch.ones(len(p), 1)], 1) @ ctx.lidar2img[0, 0].T
    uv = proj[:, :2] / proj[:, 2:3]
    torch.testing.assert_close(proj[:, 2], depth[valid], rtol=1e-4, atol=1e-4)
    ref = depth_maps(ctx.points[0], ctx.lidar2img[0], (24, 32))[0]
    assert torch.equal(depth[valid], ref[uv[:, 1].long(), uv[:, 0].long()])
    # the colour target is the image at the ray's pixel
    col = ctx.colour[0, 0][:, uv[:, 1].long(), uv[:, 0].long()].T
    torch.testing.assert_close(rays.targets['rgb'][0, valid], col)


def test_perspective_sampler_uses_pipeline_targets_and_dense_grid():
    ctx = _camera_ctx(with_pipeline_depth=True)
    sampler = MODELS.build(dict(type='PerspectiveRaySampler', num_random=10, num_depth=0))
    assert (sampler(ctx).targets['depth'] == 7.0).all()
    dense = sampler.dense(ctx, stride=4)
    assert dense.grid == (1, 6, 8) and dense.origins.shape == (1, 48, 3)


def test_bev_sampler_targets_and_volume_validity():
    pcr = [-10.0, -10.0, -3.0, 10.0, 10.0, 3.0]
    target_range = [-20.0, -20.0, -3.0, 20.0, 20.0, 3.0]
    pts = torch.tensor([[1.1, 1.1, 0.5], [1.3, 1.2, -1.0], [15.0, 15.0, 0.0]])
    sampler = MODELS.build(
        dict(type='BEVRaySampler', point_cloud_range=pcr, cell_size=(2.0, 2.0), target_range=target_range)
    )
    dense = sampler.dense(RenderContext([BaseDataElement()], [pts]))
    assert dense.grid == (1, 20, 20)
    ref, _, occ = bev_depth_height(pts, target_range, (2.0, 2.0))
    assert torch.equal(dense.targets['depth'][0], ref.flatten())
    # the occupied cell at (15, 15) lies outside the render volume: not supervised
    assert int(occ.sum()) == 2 and int(dense.targets['valid'].sum()) == 1
    idx = int(dense.targets['valid'][0].nonzero())
    assert dense.targets['depth'][0, idx] == pytest.approx(3.0 - 0.5)
    torch.testing.assert_close(dense.origins[0, idx], torch.tensor([1.0, 1.0, 3.0]))
    assert (dense.directions[0] == torch.tensor([0.0, 0.0, -1.0])).all()


@MODELS.register_module(force=True)
class _RecordingDensity(nn.Module):
    """Density module that records the keywords the renderer passes (as an SDF opacity would)."""

    def forward(self, raw, deltas, **kwargs):
        self.seen = kwargs
        return torch.sigmoid(raw) * 0.1


def test_renderer_passes_field_extras_view_dirs_and_metric_deltas_to_the_density():
    renderer = MODELS.build(
        dict(type='VolumeRenderer', near=0.5, far=2.0, step=0.5, density=dict(type='_RecordingDensity'))
    )

    def field(points, view_dirs, with_color):
        return {'raw': points[..., 0], 'sdf_grad': torch.ones_like(points)}

    origins = torch.zeros(1, 2, 3)
    dirs = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 3.0, 0.0]]])
    out = renderer(field, origins, dirs, with_color=False)
    assert set(renderer.density.seen) == {'sdf_grad', 'view_dirs', 'metric_deltas'}
    torch.testing.assert_close(renderer.density.seen['view_dirs'], torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]]))
    # interval lengths in metres: the 0.5 step of t times the directions' norms 2 and 3
    torch.testing.assert_close(renderer.density.seen['metric_deltas'], torch.tensor([[[1.0] * 3, [1.5] * 3]]))
    assert out['sdf_grad'].shape == (1, 2, 3, 3) and out['t_vals'].shape == (1, 2, 3)
    assert 'raw' not in out and out['depth'].shape == (1, 2)
    with pytest.raises(ValueError, match='near, far and step'):
        MODELS.build(dict(type='VolumeRenderer', near=0.5))
