"""Ray generation: perspective/BEV rays, sample placement, sub-sampling, depth projection."""

import math
import pickle

import numpy as np
import pytest
import torch

from mmssl.geometry import compose_lidar2img, depth_maps, pixel_centers
from mmssl.ops.rays import (
    bev_rays,
    perspective_rays,
    random_virtual_cameras,
    sample_pixel_indices,
    uniform_samples,
)


def _rot(yaw, pitch):
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    rz = torch.tensor([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1.0]])
    rx = torch.tensor([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rx @ rz


def _camera():
    k = torch.tensor([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    lidar2cam = torch.eye(4)
    # LiDAR x forward, z up -> camera z forward, y down, then a small rotation
    base = torch.tensor([[0, -1.0, 0], [0, 0, -1.0], [1.0, 0, 0]])
    lidar2cam[:3, :3] = _rot(0.1, -0.05) @ base
    lidar2cam[:3, 3] = torch.tensor([0.1, -0.3, 0.5])
    ang = 0.2
    aug = torch.eye(4)
    aug[:2, :2] = 0.44 * torch.tensor([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    aug[:2, 3] = torch.tensor([-30.0, 12.0])
    return k, lidar2cam, aug


def test_uniform_samples_step_and_bins():
    t, d = uniform_samples(1.0, 60.0, 0.8, num_rays=2)
    assert t.shape == (2, 74) and torch.allclose(d, torch.full_like(d, 59.0 / 74))
    assert t[0, 0].item() == pytest.approx(1.0 + 59.0 / 74 / 2)
    assert (t[0, -1] + d[0, -1] / 2).item() == pytest.approx(60.0, abs=1e-4)
    tb, db = uniform_samples(0.0, 8.0, 0.2)
    assert tb.shape == (1, 40) and db[0, 0].item() == pytest.approx(0.2)
    tp, _ = uniform_samples(0.0, 8.0, 0.2, 3, perturb=True, generator=torch.Generator().manual_seed(0))
    edges = torch.arange(40) * 0.2
    assert torch.all(tp >= edges) and torch.all(tp <= edges + 0.2)


def test_compose_lidar2img_matches_post_division_augmentation():
    k, lidar2cam, aug = _camera()
    pts = torch.tensor([[10.0, 1.0, 0.5], [25.0, -4.0, 1.5], [6.0, 2.0, -1.0]])
    cam = pts @ lidar2cam[:3, :3].T + lidar2cam[:3, 3]
    uv1 = cam @ k.T
    uv1 = uv1 / uv1[:, 2:3]
    ref = uv1 @ aug[:3, :3].T + aug[:3, 3]  # BEVFusion: augment (u, v, 1) after the division
    m = compose_lidar2img(k, lidar2cam, aug)
    proj = torch.cat([pts, torch.ones(3, 1)], 1) @ m.T
    torch.testing.assert_close(proj[:, :2] / proj[:, 2:3], ref[:, :2], rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(proj[:, 2], cam[:, 2])


def test_perspective_ray_reaches_point_at_its_camera_depth():
    k, lidar2cam, aug = _camera()
    m = compose_lidar2img(k, lidar2cam, aug)
    pts = torch.tensor([[10.0, 1.0, 0.5], [25.0, -4.0, 1.5], [6.0, 2.0, -1.0]])
    proj = torch.cat([pts, torch.ones(3, 1)], 1) @ m.T
    depth = proj[:, 2]
    uv = proj[:, :2] / depth[:, None]
    origins, dirs = perspective_rays(m, uv)
    torch.testing.assert_close(origins + depth[:, None] * dirs, pts, rtol=1e-4, atol=1e-4)
    cam_centre = -lidar2cam[:3, :3].T @ lidar2cam[:3, 3]
    torch.testing.assert_close(origins[0], cam_centre, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='last row'):
        perspective_rays(m * 2, uv)


def test_bev_rays_look_down_from_cell_centres():
    pc_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
    o, d = bev_rays(pc_range, (180, 180), torch.tensor([0, 181, 180 * 180 - 1]))
    torch.testing.assert_close(o[0], torch.tensor([-53.7, -53.7, 3.0]))
    torch.testing.assert_close(o[1], torch.tensor([-53.1, -53.1, 3.0]))
    torch.testing.assert_close(o[2], torch.tensor([53.7, 53.7, 3.0]))
    assert torch.all(d == torch.tensor([0.0, 0.0, -1.0]))
    torch.testing.assert_close(pixel_centers(torch.tensor([7]), 5), torch.tensor([[2.5, 1.5]]))


def test_sample_pixel_indices_counts_and_validity():
    g = torch.Generator().manual_seed(0)
    valid = torch.zeros(1000, dtype=torch.bool)
    valid[::50] = True  # 20 valid pixels
    idx = sample_pixel_indices(1000, 64, valid, num_valid=16, generator=g)
    assert idx.shape == (80,) and len(set(idx[:64].tolist())) == 64
    assert valid[idx[64:]].all() and len(set(idx[64:].tolist())) == 16
    idx = sample_pixel_indices(1000, 0, valid, num_valid=40, generator=g)  # more than valid
    assert valid[idx].all() and idx.shape == (40,)
    idx = sample_pixel_indices(10, 64, torch.zeros(10, dtype=torch.bool), num_valid=4, generator=g)
    assert idx.shape == (14,)


def test_depth_maps_keep_nearest():
    k, lidar2cam, _ = _camera()
    m = compose_lidar2img(k, lidar2cam)[None]
    near = torch.tensor([[10.0, 1.0, 0.5]])
    far = near * 2 - torch.cat([lidar2cam[:3, :3].T @ -lidar2cam[:3, 3]])[None]  # same ray, farther
    behind = torch.tensor([[-10.0, 0.0, 0.0]])
    depth = depth_maps(torch.cat([far, near, behind]), m, (480, 640))
    assert (depth > 0).sum() == 1
    cam_z = (near @ lidar2cam[:3, :3].T + lidar2cam[:3, 3])[0, 2]
    assert depth.max().item() == pytest.approx(cam_z.item())


def test_real_keyframe_projection_counts(nuscenes_demo_dir):
    info = pickle.load(open(next(nuscenes_demo_dir.glob('*.pkl')), 'rb'))['data_list'][0]
    pts = np.fromfile(nuscenes_demo_dir / info['lidar_points']['lidar_path'], dtype=np.float32)
    pts = torch.from_numpy(pts.reshape(-1, 5)).double()  # float64: exact geometry check
    mats = torch.stack(
        [
            compose_lidar2img(torch.tensor(c['cam2img']), torch.tensor(c['lidar2cam']))
            for c in info['images'].values()
        ]
    ).double()
    depth = depth_maps(pts, mats, (900, 1600))
    hits = (depth > 0).flatten(1).sum(1)
    # README: 3,067 to 4,826 points land in each image; z-buffering merges only a few.
    assert hits.min() > 2800 and hits.max() <= 4826
    # every valid pixel re-lifts onto a LiDAR point: ray(u_center, v_center) at that depth
    cam = int(hits.argmax())
    flat = torch.nonzero(depth[cam].flatten() > 0)[:, 0]
    o, d = perspective_rays(mats[cam], pixel_centers(flat, 1600).double())
    lifted = o + depth[cam].flatten()[flat, None] * d
    dist = torch.cdist(lifted, pts[:, :3]).min(1).values
    # at most half a pixel diagonal off the point: sqrt(2)/2 px * depth / focal
    focal = torch.tensor(list(info['images'].values())[cam]['cam2img'])[0, 0]
    bound = 0.7072 * depth[cam].flatten()[flat] / focal + 1e-3
    assert torch.all(dist <= bound)


def test_random_virtual_camera_sees_point_ahead_at_centre():
    pc_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
    m = random_virtual_cameras(3, pc_range, (64, 128), generator=torch.Generator().manual_seed(0))
    o, d = perspective_rays(m, torch.tensor([[[64.0, 32.0]]] * 3))
    assert torch.allclose(d[..., 2], torch.zeros(3, 1), atol=1e-6)  # level optical axis
    torch.testing.assert_close(d.norm(dim=-1), torch.ones(3, 1))
    assert (o[:, 0, 2] >= 0.5).all() and (o[:, 0, 2] <= 2.5).all()
