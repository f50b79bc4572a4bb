"""Teacher features at 3D points: known answers, the un-augmented calibration, cached = live."""

import numpy as np
import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmssl.datasets.transforms.calibration import apply_lidar_aug
from mmssl.geometry import original_lidar2img_from_meta
from mmssl.models.target_generators import PointFeatureTargets, sample_point_features
from mmssl.models.target_generators.cache_builder import build_feature_cache
from mmssl.testing.synthetic_batch import dataset_batch

TINY = dict(embed_dim=32, depth=2, num_heads=2)
IN = (28, 42)  # teacher input (H, W)
F_HW = (4, 6)  # teacher map (h, w)


def _pixel_map(h=F_HW[0], w=F_HW[1], size=IN):
    """``(2, h, w)``: cell centres' continuous pixel ``(u, v)`` in the ``size`` image."""
    u = (torch.arange(w, dtype=torch.float64) + 0.5) * size[1] / w
    v = (torch.arange(h, dtype=torch.float64) + 0.5) * size[0] / h
    return torch.stack([u[None].expand(h, w), v[:, None].expand(h, w)]).float()


def _camera(shift_x=0.0, fx=10.0):
    """lidar2img of a pinhole (camera z = LiDAR z) shifted by ``shift_x`` metres, at ``IN``."""
    k = np.eye(4)
    k[0, 0] = k[1, 1] = fx
    k[0, 2], k[1, 2] = IN[1] / 2, IN[0] / 2
    l2c = np.eye(4)
    l2c[0, 3] = shift_x
    return k @ l2c


def _pixels(points, mat):
    cam = (mat @ np.c_[points, np.ones(len(points))].T).T
    return cam[:, :2] / cam[:, 2:3], cam[:, 2]


def test_sampled_feature_is_the_projected_pixel_and_invalid_points_are_masked():
    pts = np.array(
        [
            [0.3, -0.2, 2.0],  # inside, near the centre
            [1.5, 0.6, 1.0],  # inside, right/bottom
            [-2.0, -1.1, 1.2],  # inside, left/top
            [0.1, 0.1, -1.0],  # behind the camera
            [5.0, 0.0, 1.0],  # right of the image
            [0.0, -4.0, 1.0],  # above the image
        ]
    )
    mat = _camera()
    uv, depth = _pixels(pts, mat)
    inside = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < IN[1]) & (uv[:, 1] >= 0) & (uv[:, 1] < IN[0])
    assert inside.tolist() == [True, True, True, False, False, False]
    # the map is linear in (u, v) between the outermost cell centres: exact there
    assert (uv[:3, 0] > 3.5).all() and (uv[:3, 0] < 38.5).all() and (uv[:3, 1] > 3.5).all()
    assert (uv[:3, 1] < 24.5).all()
    feats = _pixel_map()[None]
    got, valid = sample_point_features(feats, torch.tensor(pts), torch.tensor(mat[None]), IN)
    assert valid.tolist() == inside.tolist()
    torch.testing.assert_close(got[:3].double(), torch.tensor(uv[:3]), atol=1e-4, rtol=0)
    assert (got[3:] == 0).all()


def test_a_point_seen_by_two_cameras_gets_the_mean_or_the_first():
    pts = np.array([[0.2, 0.1, 2.0], [-2.5, 0.0, 1.0]])  # the first seen by both, the second by camera 1
    mats = np.stack([_camera(0.0), _camera(1.5)])
    uv0, _ = _pixels(pts, mats[0])
    uv1, _ = _pixels(pts, mats[1])
    assert 0 <= uv0[0, 0] < IN[1] and 0 <= uv1[0, 0] < IN[1]
    assert uv0[1, 0] < 0 and 0 <= uv1[1, 0] < IN[1]
    # camera 1's map holds the pixel + 100, so the two cameras disagree
    feats = torch.stack([_pixel_map(), _pixel_map() + 100])
    mean, valid = sample_point_features(feats, torch.tensor(pts), torch.tensor(mats), IN)
    assert valid.all()
    torch.testing.assert_close(mean[0].double(), torch.tensor((uv0[0] + uv1[0] + 100) / 2), atol=1e-4, rtol=0)
    torch.testing.assert_close(mean[1].double(), torch.tensor(uv1[1] + 100), atol=1e-4, rtol=0)
    first, _ = sample_point_features(feats, torch.tensor(pts), torch.tensor(mats), IN, cameras='first')
    torch.testing.assert_close(first[0].double(), torch.tensor(uv0[0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(first[1], mean[1])
    with pytest.raises(ValueError, match='cameras must be'):
        sample_point_features(feats, torch.tensor(pts), torch.tensor(mats), IN, cameras='max')


def test_original_calibration_undoes_the_lidar_augmentation_and_rescales():
    """Points rotated/scaled/flipped by the pipeline and images of another size: same pixels."""
    ori = _camera()
    ori_full = np.diag([2.0, 2.0, 1.0, 1.0]) @ ori  # the decoded image is 2x the teacher input
    results = dict(lidar2img=ori_full[None].copy(), lidar_aug_matrix=np.eye(4))
    c, s = np.cos(0.4), np.sin(0.4)
    aug = np.diag([1.1, 1.1, 1.1, 1.0]) @ np.array(
        [[c, -s, 0, 0.3], [s, c, 0, -0.2], [0, 0, 1, 0], [0, 0, 0, 1]]
    )
    apply_lidar_aug(results, aug)
    apply_lidar_aug(results, np.diag([1.0, -1.0, 1.0, 1.0]))  # horizontal BEV flip
    meta = dict(
        ori_lidar2img=ori_full[None],
        ori_img_shape=np.array([[2 * IN[0], 2 * IN[1]]]),
        lidar_aug_matrix=results['lidar_aug_matrix'],
        pcd_horizontal_flip=True,
    )
    pts = np.array([[0.3, -0.2, 2.0], [1.5, 0.6, 1.0]])
    pts_aug = (results['lidar_aug_matrix'] @ np.c_[pts, np.ones(2)].T).T[:, :3]
    mats = original_lidar2img_from_meta(meta, 1, IN)
    got, valid = sample_point_features(_pixel_map()[None], torch.tensor(pts_aug), torch.tensor(mats), IN)
    uv, _ = _pixels(pts, ori)
    assert valid.all()
    torch.testing.assert_close(got.double(), torch.tensor(uv), atol=1e-4, rtol=0)
    # an augmentation that did not record its matrix is refused, a missing key is named
    unrecorded = dict(meta, lidar_aug_matrix=np.eye(4))
    with pytest.raises(ValueError, match='lidar_aug_matrix is the identity'):
        original_lidar2img_from_meta(unrecorded, 1, IN)
    with pytest.raises(KeyError, match='ori_img_shape'):
        original_lidar2img_from_meta({k: v for k, v in meta.items() if k != 'ori_img_shape'}, 1, IN)


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = timm.create_model(
        'vit_small_patch14_dinov2', pretrained=False, img_size=518, num_classes=0, **TINY
    )
    path = tmp_path_factory.mktemp('weights') / 'dinov2_vits14_pretrain.pth'
    torch.save(dict(model.state_dict(), mask_token=torch.zeros(1, 32)), path)
    return path


def _cfg(world, weights, root=None):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    cfg = Config.fromfile(str(repo / 'configs/_base_/datasets/synthetic_nus_pretrain.py'))
    cfg.train_dataloader.dataset.update(data_root=str(world['root']), ann_file=str(world['train_info']))
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'LoadSSLMultiViewImages':
            t['keep_ori_img'] = True
    teacher = dict(
        type='DINOv2Teacher', checkpoint=str(weights), input_size=list(IN), arch_kwargs=TINY, out_stride=7
    )
    cfg.model = dict(target_generator=dict(type='CachedTeacherFeatures', teacher=teacher, cache_root=root))
    return cfg


def _batch(cfg, world, seed):
    np.random.seed(seed)
    torch.manual_seed(seed)
    return dataset_batch(cfg, world, indices=(0, 2))


def test_cached_targets_equal_live_and_ignore_the_student_augmentation(tmp_path, synthetic_world, weights):
    root = str(tmp_path / 'cache')
    cfg = _cfg(synthetic_world, weights, root)
    stats = build_feature_cache(cfg, progress=False)
    assert stats['computed'] == 4
    gen = cfg.model.target_generator
    live = PointFeatureTargets(features=dict(gen, cache_root=None))
    cached = PointFeatureTargets(features=gen)
    assert live.features.teacher is not None and cached.features.teacher is None

    batch = _batch(cfg, synthetic_world, seed=0)
    samples = batch['data_samples']
    points = [p[:, :3] for p in batch['inputs']['points']]
    meta = samples[0].metainfo
    # the loading transform's keys: un-augmented calibration and image size, the raw images kept
    assert meta['ori_img_shape'].tolist() == [[90, 160]] * 6
    assert samples[0].ssl_targets.ori_img.shape == (6, 90, 160, 3)
    assert tuple(batch['inputs']['img'][0].shape) == (6, 3, 128, 352)
    assert not np.allclose(meta['img_aug_matrix'], np.eye(4)) and not np.allclose(
        meta['lidar_aug_matrix'], np.eye(4)
    )

    got, valid = cached(points, samples)
    expect, valid_live = live(points, samples)
    for g, e, v, vl, p in zip(got, expect, valid, valid_live, points):
        assert g.shape == (len(p), 32) and v.shape == (len(p),) and v.dtype == torch.bool
        assert torch.equal(v, vl) and 0.05 < v.float().mean() < 1 and (g[~v] == 0).all()
        torch.testing.assert_close(g, e, atol=2e-3 * e.abs().max().item(), rtol=1e-2)

    # another draw of the image and LiDAR augmentations: the same original points get the same targets
    other = _batch(cfg, synthetic_world, seed=1)
    assert not np.allclose(other['data_samples'][0].metainfo['img_aug_matrix'], meta['img_aug_matrix'])
    got2, valid2 = cached([p[:, :3] for p in other['inputs']['points']], other['data_samples'])
    for i in range(2):
        keyed = []
        for pts, s, f, v in (
            (points[i], samples[i], got[i], valid[i]),
            (other['inputs']['points'][i][:, :3], other['data_samples'][i], got2[i], valid2[i]),
        ):
            inv = np.linalg.inv(s.metainfo['lidar_aug_matrix'])
            orig = (inv @ np.c_[pts.double().numpy(), np.ones(len(pts))].T).T[:, :3]
            keyed.append({tuple(np.round(o, 3)): (fi, vi) for o, fi, vi in zip(orig, f, v)})
        common = [k for k in keyed[0] if k in keyed[1]]
        assert len(common) > 100
        a = torch.stack([keyed[0][k][0] for k in common])
        b = torch.stack([keyed[1][k][0] for k in common])
        va = torch.stack([keyed[0][k][1] for k in common])
        vb = torch.stack([keyed[1][k][1] for k in common])
        assert torch.equal(va, vb) and va.any()
        # float32 points through two different augmentations: pixels equal to ~1e-5 px
        torch.testing.assert_close(a, b, atol=1e-3 * a.abs().max().item(), rtol=1e-2)

    # the live teacher without the raw images says what to set
    for s in samples:
        del s.ssl_targets.ori_img
    with pytest.raises(KeyError, match='keep_ori_img=True'):
        live(points, samples)


def test_a_data_sample_without_the_original_calibration_is_refused(weights):
    teacher = dict(type='DINOv2Teacher', checkpoint=str(weights), input_size=list(IN), arch_kwargs=TINY)
    gen = PointFeatureTargets(features=dict(type='CachedTeacherFeatures', teacher=teacher))
    sample = BaseDataElement(metainfo=dict(token='t0', lidar2img=np.tile(np.eye(4), (1, 1, 1))))
    sample.ssl_targets = BaseDataElement(ori_img=torch.zeros(1, 28, 42, 3, dtype=torch.uint8))
    with pytest.raises(KeyError, match='ori_lidar2img'):
        gen([torch.zeros(3, 3)], [sample])
