"""VolumeRenderer + ConditionalRenderField: closed forms through the registered modules."""

import math

import pytest
import torch

from mmssl.registry import MODELS


def test_bev_ray_through_horizontal_slab_closed_form():
    renderer = MODELS.build(dict(type='VolumeRenderer', near=0.0, far=8.0, step=0.01))
    sigma, top, bottom = 0.5, 3.0 - 2.0, 3.0 - 5.0  # slab z in [bottom, top], volume top z=3

    def field(points, view_dirs, with_color):
        z = points[..., 2]
        raw = torch.where((z <= top) & (z > bottom), torch.full_like(z, sigma), torch.zeros_like(z))
        return {'raw': raw}

    origins = torch.tensor([[[0.0, 0.0, 3.0], [5.0, -2.0, 3.0]]])
    dirs = torch.tensor([[[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]]])
    out = renderer(field, origins, dirs, with_color=False)
    a, length = 2.0, 3.0  # slab starts 2 m below the top, 3 m thick
    opacity = 1 - math.exp(-sigma * length)
    depth = a * opacity + opacity / sigma - length * math.exp(-sigma * length)
    torch.testing.assert_close(out['opacity'], torch.full((1, 2), opacity), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out['depth'], torch.full((1, 2), depth), rtol=1e-3, atol=1e-3)
    assert out['weights'].shape == (1, 2, renderer.num_samples) and 'rgb' not in out


def test_render_field_shapes_view_conditioning_and_gradients():
    pcr = [-4.0, -4.0, -2.0, 4.0, 4.0, 2.0]
    head = MODELS.build(
        dict(
            type='ConditionalRenderField',
            in_channels=6,
            point_cloud_range=pcr,
            feat_channels=8,
            color_feat_channels=4,
            dir_freqs=2,
            z_upsample=2,
        )
    )
    renderer = MODELS.build(
        dict(
            type='VolumeRenderer',
            near=0.5,
            far=4.0,
            step=0.5,
            density=dict(type='NeRFDensity', activation='softplus'),
        )
    )
    vol = torch.randn(2, 6, 3, 8, 8, requires_grad=True)
    fields = head.build_fields(vol)
    assert fields.shape == (2, 5, 6, 8, 8)
    origins = torch.zeros(2, 4, 3)
    dirs = torch.nn.functional.normalize(torch.randn(2, 4, 3), dim=-1)
    out = renderer(head.field(fields), origins, dirs)
    assert out['rgb'].shape == (2, 4, 3) and out['depth'].shape == (2, 4)
    assert ((out['rgb'] >= 0) & (out['rgb'] <= out['opacity'].unsqueeze(-1) + 1e-6)).all()
    (out['rgb'].sum() + out['depth'].sum()).backward()
    assert vol.grad.abs().sum() > 0 and torch.isfinite(vol.grad).all()
    # colour depends on the view direction at the same point
    pts = torch.zeros(1, 2, 1, 3)
    rgb = head.query(fields[:1], pts, torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]]))['rgb']
    assert not torch.allclose(rgb[0, 0], rgb[0, 1])


def test_density_rejects_unknown_activation():
    with pytest.raises(ValueError, match='activation'):
        MODELS.build(dict(type='NeRFDensity', activation='exp'))
