"""Image / LiDAR augmentations keep the camera-LiDAR projection exact (real nuScenes keyframe)."""

import copy
import itertools

import cv2
import numpy as np
import pytest
import torch

from mmssl import geometry as F
from mmssl.registry import TRANSFORMS

IMG_AUG = dict(
    type='ImageAug3D',
    final_dim=(256, 704),
    resize_lim=(0.38, 0.55),
    bot_pct_lim=(0.0, 0.2),
    rot_lim=(-20.0, 20.0),
    rand_flip=True,
)
IMG_AUG_SMALL = dict(
    type='ImageAug3D', final_dim=(128, 352), resize_lim=(0.8, 1.2), rot_lim=(-10.0, 10.0), rand_flip=True
)
ROT = dict(
    type='SSLGlobalRotScaleTrans',
    rot_range=[-3.14, 3.14],
    scale_ratio_range=[0.8, 1.2],
    translation_std=[1.0, 1.0, 0.5],
)
FLIP = dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5)

COMBOS = [
    [IMG_AUG],
    [ROT],
    [FLIP],
    [IMG_AUG, ROT, FLIP],
    [ROT, FLIP, IMG_AUG],
    [FLIP, IMG_AUG, ROT, IMG_AUG_SMALL],
    [ROT, IMG_AUG, FLIP, ROT],
]


@pytest.mark.parametrize('combo', range(len(COMBOS)))
def test_projection_survives_any_augmentation(nus_results, combo):
    np.random.seed(combo)
    orig = nus_results
    p0 = orig['points'].tensor.double().clone()
    l2i0 = torch.as_tensor(orig['lidar2img'])
    results = copy.deepcopy(orig)
    for cfg in COMBOS[combo]:
        results = TRANSFORMS.build(cfg)(results)
    p1 = results['points'].tensor.double()
    lidar_aug = torch.as_tensor(results['lidar_aug_matrix'])
    img_aug = torch.as_tensor(results['img_aug_matrix'])
    # the recorded 3D matrix maps original to augmented points
    p0h = torch.cat([p0[:, :3], torch.ones(len(p0), 1, dtype=p0.dtype)], 1)
    assert torch.allclose((p0h @ lidar_aug.T)[:, :3], p1[:, :3], atol=2e-3)
    uv1, d1 = F.project_points(p1, torch.as_tensor(results['lidar2img']))
    uv0, d0 = F.project_points(p0, l2i0)
    uv0_aug = torch.einsum('cij,cnj->cni', img_aug[:, :2, :2], uv0) + img_aug[:, None, :2, 3]
    h, w = results['img_shape']
    assert results['img'][0].shape[:2] == (h, w)
    inside = (
        (d0 > 0.5)
        & (uv0_aug[..., 0] >= 0)
        & (uv0_aug[..., 0] < w)
        & (uv0_aug[..., 1] >= 0)
        & (uv0_aug[..., 1] < h)
    )
    assert inside.sum() > 1000
    err = (uv1 - uv0_aug).norm(dim=-1)[inside]
    assert err.max() < 0.5, f'max reprojection error {err.max():.3f} px'
    assert torch.allclose(d1[inside], d0[inside], rtol=1e-4, atol=1e-3)
    # cam2img / lidar2cam stay consistent with lidar2img
    composed = torch.as_tensor(results['cam2img']) @ torch.as_tensor(results['lidar2cam'])
    assert torch.allclose(composed, torch.as_tensor(results['lidar2img']), atol=1e-6)


@pytest.mark.parametrize('flip,rot', list(itertools.product([False, True], [0.0, 17.0])))
def test_image_pixels_follow_img_aug_matrix(flip, rot):
    """A bright blob moves to where img_aug_matrix says (the warp matches the matrix)."""
    img = np.zeros((900, 1600, 3), np.uint8)
    cy, cx = 520.0, 930.0
    cv2.circle(img, (int(cx), int(cy)), 30, (255, 255, 255), -1)
    results = dict(
        img=[img],
        img_shape=(900, 1600),
        cam2img=np.eye(4)[None].copy(),
        lidar2img=np.eye(4)[None].copy(),
        img_aug_matrix=np.eye(4)[None].copy(),
    )
    aug = TRANSFORMS.build(
        dict(
            type='ImageAug3D',
            final_dim=(256, 704),
            resize_lim=(0.5, 0.5),
            bot_pct_lim=(0.1, 0.1),
            rot_lim=(rot, rot),
            rand_flip=flip,
        )
    )
    np.random.seed(1)
    while True:  # make the random flip come out as requested
        out = aug(copy.deepcopy(results))
        if out['img_aug_params'][0]['flip'] == flip:
            break
    m = out['img_aug_matrix'][0]
    # continuous centre of the disc drawn at integer pixel (cx, cy) is (cx + .5, cy + .5)
    expect = m[:2, :2] @ np.array([cx + 0.5, cy + 0.5]) + m[:2, 3]
    gray = out['img'][0][..., 0].astype(np.float64)
    ys, xs = np.nonzero(gray > 0)
    wts = gray[ys, xs]
    got = np.array([(xs + 0.5) @ wts / wts.sum(), (ys + 0.5) @ wts / wts.sum()])
    assert np.abs(got - expect).max() < 0.3, (got, expect)


def test_test_mode_is_deterministic_and_centred(nus_results):
    aug = TRANSFORMS.build(
        dict(type='ImageAug3D', final_dim=(256, 704), resize_lim=(0.48, 0.48), is_train=False)
    )
    out = aug(copy.deepcopy(nus_results))
    p = out['img_aug_params'][0]
    assert p['resize_dims'] == (768, 432) and p['crop'] == (32, 176, 736, 432)
    assert not p['flip'] and p['rotate'] == 0.0
    expect = np.diag([768 / 1600, 432 / 900, 1.0, 1.0])
    expect[:2, 3] = [-32, -176]
    assert np.allclose(out['img_aug_matrix'], expect[None])


def test_kitti_projection_with_p2_translation(kitti_cfg):
    """KITTI's 4x4 P2 has a translation column; the augmented projection stays exact."""
    from mmssl.registry import DATASETS

    pipe = [
        dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
        dict(type='LoadSSLMultiViewImages', camera_names=['CAM2']),
    ]
    ds = DATASETS.build(kitti_cfg(pipe))
    np.random.seed(7)
    orig = ds.prepare_data(0)
    results = copy.deepcopy(orig)
    for cfg in (
        dict(
            type='ImageAug3D',
            final_dim=(256, 832),
            resize_lim=(0.69, 0.8),
            rot_lim=(-5.4, 5.4),
            rand_flip=True,
        ),
        ROT,
        FLIP,
    ):
        results = TRANSFORMS.build(cfg)(results)
    p0 = orig['points'].tensor.double()
    uv0, d0 = F.project_points(p0, torch.as_tensor(orig['lidar2img'][0]))
    uv1, d1 = F.project_points(results['points'].tensor.double(), torch.as_tensor(results['lidar2img'][0]))
    m = torch.as_tensor(results['img_aug_matrix'][0])
    expect = uv0 @ m[:2, :2].T + m[:2, 3]
    inside = (
        (d0 > 0.5) & (expect[:, 0] >= 0) & (expect[:, 0] < 832) & (expect[:, 1] >= 0) & (expect[:, 1] < 256)
    )
    assert inside.sum() > 5000
    assert (uv1 - expect).norm(dim=1)[inside].max() < 0.5
