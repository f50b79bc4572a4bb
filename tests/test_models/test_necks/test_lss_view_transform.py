"""LSS view transform: geometry against the projection matrices, pooling, depth input."""

import numpy as np
import pytest
import torch

from mmssl.geometry import lidar2img_batch
from mmssl.models.necks import ConvFuser, GeneralizedLSSFPN, LSSViewTransform
from mmssl.testing.synthetic_batch import nuscenes_keyframe_batch, synthetic_multimodal_batch


def _vt(**kw):
    cfg = dict(
        in_channels=8,
        out_channels=4,
        image_size=(64, 160),
        feature_size=(8, 20),
        xbound=(-51.2, 51.2, 3.2),
        ybound=(-51.2, 51.2, 3.2),
        zbound=(-10, 10, 5.0),
        dbound=(1.0, 41.0, 4.0),
    )
    cfg.update(kw)
    return LSSViewTransform(**cfg)


@pytest.fixture(scope='module')
def keyframe(nuscenes_demo_dir):
    return nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=(64, 160))


def test_geometry_reprojects_to_frustum_pixels(keyframe):
    """Each frustum point, projected with the augmented lidar2img, lands on its own pixel."""
    meta = keyframe['data_samples'][0].metainfo
    vt = _vt()
    geom = vt.get_geometry(lidar2img_batch([meta], 6))  # (1, 6, D, fH, fW, 3)
    assert geom.shape == (1, 6, 10, 8, 20, 3)
    lidar2img = torch.as_tensor(meta['lidar2img'], dtype=torch.float32)
    pts = torch.cat([geom[0], torch.ones_like(geom[0][..., :1])], -1)
    proj = torch.einsum('nij,ndhwj->ndhwi', lidar2img, pts)
    uv = proj[..., :2] / proj[..., 2:3]
    torch.testing.assert_close(uv, vt.frustum[..., :2].expand_as(uv), atol=2e-2, rtol=0)
    torch.testing.assert_close(proj[..., 2], vt.frustum[..., 2].expand_as(proj[..., 2]), atol=2e-3, rtol=0)


def test_geometry_follows_lidar_augmentation(keyframe):
    """A LiDAR augmentation A (lidar2img <- lidar2img @ inv(A)) moves the frustum by A."""
    meta = dict(keyframe['data_samples'][0].metainfo)
    vt = _vt()
    base = vt.get_geometry(lidar2img_batch([meta], 6))
    c, s = np.cos(0.3), np.sin(0.3)
    aug = np.eye(4)
    aug[:3, :3] = 1.05 * np.array([[c, -s, 0], [-s, -c, 0], [0, 0, 1]])  # rotate, flip y, scale
    aug[:3, 3] = [0.5, -0.2, 0.1]
    meta['lidar2img'] = meta['lidar2img'] @ np.linalg.inv(aug)
    moved = vt.get_geometry(lidar2img_batch([meta], 6))
    expected = base @ torch.as_tensor(aug[:3, :3].T, dtype=torch.float32) + torch.as_tensor(
        aug[:3, 3], dtype=torch.float32
    )
    torch.testing.assert_close(moved, expected, atol=2e-3, rtol=1e-4)


def test_lidar2img_composed_without_augmentation():
    meta = {'cam2img': [np.diag([2.0, 3.0, 1.0])], 'lidar2cam': [np.eye(4)], 'sample_idx': 0}
    np.testing.assert_allclose(lidar2img_batch([meta], 1)[0, 0].numpy(), np.diag([2, 3, 1, 1]))


def test_volume_equals_manual_splat_and_bev_layout():
    """Forward = softmax depth x context, summed per voxel; BEV is the z-stacked volume."""
    torch.manual_seed(0)
    batch = synthetic_multimodal_batch(batch_size=1, num_cams=2, image_size=(32, 64))
    mats = lidar2img_batch([s.metainfo for s in batch['data_samples']], 2)
    vt = _vt(image_size=(32, 64), feature_size=(4, 8), dbound=(1.0, 31.0, 6.0), zbound=(-4, 4, 4.0)).eval()
    feats = torch.randn(1, 2, 8, 4, 8)
    out = vt.forward_volume(feats, mats)
    depth, lifted = vt.get_cam_feats(feats)
    geom = out['geometry']
    ref = torch.zeros(1, 4, 2, 32, 32)
    low = torch.tensor([-51.2, -51.2, -4.0])
    size = torch.tensor([3.2, 3.2, 4.0])
    for idx in np.ndindex(*geom.shape[1:5]):
        x, y, z = torch.floor((geom[(0,) + idx] - low) / size).long().tolist()
        if 0 <= x < 32 and 0 <= y < 32 and 0 <= z < 2:
            ref[0, :, z, y, x] += lifted[(0,) + idx]
    torch.testing.assert_close(out['volume'], ref, atol=1e-5, rtol=1e-5)
    assert out['depth'].shape == (1, 2, 5, 4, 8)
    torch.testing.assert_close(out['depth'].sum(2), torch.ones(1, 2, 4, 8))
    bev = vt(feats, mats)
    assert bev.shape == (1, 8, 32, 32)
    torch.testing.assert_close(bev[:, 1 * 2 + 1], out['volume'][:, 1, 1])


def test_volume_on_another_z_grid_and_per_slice_downsampling():
    """``zbound`` re-pools the same lifted points on a finer z grid (sums per column agree) and
    ``downsample_volume`` applies the detector's BEV block to each z slice."""
    torch.manual_seed(0)
    batch = synthetic_multimodal_batch(batch_size=1, num_cams=2, image_size=(32, 64))
    mats = lidar2img_batch([s.metainfo for s in batch['data_samples']], 2)
    vt = _vt(
        image_size=(32, 64), feature_size=(4, 8), dbound=(1.0, 31.0, 6.0), zbound=(-4, 4, 8.0), downsample=2
    )
    vt.eval()
    feats = torch.randn(1, 2, 8, 4, 8)
    coarse = vt.forward_volume(feats, mats)['volume']  # (1, 4, 1, 32, 32)
    fine = vt.forward_volume(feats, mats, zbound=(-4, 4, 2.0))['volume']
    assert coarse.shape == (1, 4, 1, 32, 32) and fine.shape == (1, 4, 4, 32, 32)
    torch.testing.assert_close(fine.sum(2), coarse[:, :, 0], atol=1e-5, rtol=1e-5)
    down = vt.downsample_volume(fine)
    assert down.shape == (1, 4, 4, 16, 16)
    for z in range(4):
        torch.testing.assert_close(down[:, :, z], vt.downsample(fine[:, :, z]))
    # the per-slice block equals the detector's own BEV path on the one-bin grid
    torch.testing.assert_close(vt.downsample_volume(coarse)[:, :, 0], vt(feats, mats))
    two_bins = _vt(zbound=(-4, 4, 4.0), downsample=2)
    with pytest.raises(ValueError, match='1 bin'):
        two_bins.downsample_volume(torch.zeros(1, 4, 3, 32, 32))


def test_depth_input_projection_matches_points(keyframe):
    vt = _vt(depth_input=True, depth_channels=8)
    meta = keyframe['data_samples'][0].metainfo
    pts = keyframe['inputs']['points'][0]
    mats = lidar2img_batch([meta], 6)
    depth = vt.project_depth([pts], mats)
    assert depth.shape == (1, 6, 1, 64, 160)
    filled = depth > 0
    assert filled.sum() > 1000
    # Check one filled pixel per camera against a direct projection of the points.
    lidar2img = torch.as_tensor(meta['lidar2img'], dtype=torch.float32)
    xyz1 = torch.cat([pts[:, :3], torch.ones(len(pts), 1)], 1)
    for cam in range(6):
        proj = xyz1 @ lidar2img[cam].T
        d = proj[:, 2]
        u = torch.floor(proj[:, 0] / d).long()
        v = torch.floor(proj[:, 1] / d).long()
        ok = (d > 1e-3) & (u >= 0) & (u < 160) & (v >= 0) & (v < 64)
        vv, uu = v[ok][0], u[ok][0]
        expect = d[ok][(u[ok] == uu) & (v[ok] == vv)].min()
        torch.testing.assert_close(depth[0, cam, 0, vv, uu], expect, atol=1e-3, rtol=1e-4)
    out = vt.forward_volume(torch.randn(1, 6, 8, 8, 20), mats, [pts])
    assert out['volume'].shape == (1, 4, 4, 32, 32)
    with pytest.raises(ValueError, match='needs points'):
        vt.forward_volume(torch.randn(1, 6, 8, 8, 20), mats)


def test_errors_and_small_modules():
    vt = _vt()
    with pytest.raises(ValueError, match='feature_size'):
        vt.forward_volume(torch.zeros(1, 6, 8, 4, 4), torch.eye(4).expand(1, 6, 4, 4))
    with pytest.raises(KeyError, match='sample 3: metainfo has neither lidar2img'):
        lidar2img_batch([{'sample_idx': 3}], 6)
    fuser = ConvFuser([2, 3], 4)
    assert fuser([torch.zeros(1, 2, 5, 5), torch.zeros(1, 3, 5, 5)]).shape == (1, 4, 5, 5)
    with pytest.raises(ValueError, match='ConvFuser'):
        fuser([torch.zeros(1, 2, 5, 5), torch.zeros(1, 3, 4, 5)])
    fpn = GeneralizedLSSFPN([4, 8, 16], 6)
    outs = fpn([torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)])
    assert [tuple(o.shape) for o in outs] == [(2, 6, 16, 16), (2, 6, 8, 8)]
