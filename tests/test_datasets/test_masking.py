"""Masking transforms on the real nuScenes keyframe: exact counts, partitions, seeding."""

import copy

import numpy as np
import pytest
import torch

from mmssl import geometry as F
from mmssl.registry import TRANSFORMS

PCR = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]


def _rows(t):
    return sorted(map(tuple, t.numpy().round(5).tolist()))


@pytest.fixture
def lidar_results(nus_results):
    return TRANSFORMS.build(dict(type='SSLPointsRangeFilter', point_cloud_range=PCR))(nus_results)


def test_image_patch_mask_transform(nus_results):
    res = TRANSFORMS.build(
        dict(type='ImageAug3D', final_dim=(256, 704), resize_lim=(0.44, 0.44), is_train=False)
    )(nus_results)
    imgs_before = [i.copy() for i in res['img']]
    t = TRANSFORMS.build(dict(type='ImagePatchMask', ratio=0.5, patch_size=8, seed=0))
    out = t(res)
    m = out['img_patch_mask']
    assert m.shape == (6, 32, 88) and m.dtype == torch.bool
    assert m.flatten(1).sum(1).tolist() == [1408] * 6
    assert all(np.array_equal(a, b) for a, b in zip(imgs_before, out['img']))  # returned only
    shared = TRANSFORMS.build(dict(type='ImagePatchMask', ratio=0.5, patch_size=4, shared=True, seed=0))(out)[
        'img_patch_mask'
    ]
    assert shared.shape == (6, 64, 176) and all(torch.equal(shared[0], s) for s in shared)
    a = TRANSFORMS.build(dict(type='ImagePatchMask', seed=5))(copy.deepcopy(res))
    b = TRANSFORMS.build(dict(type='ImagePatchMask', seed=5))(copy.deepcopy(res))
    assert torch.equal(a['img_patch_mask'], b['img_patch_mask'])
    np.random.seed(3)
    c = TRANSFORMS.build(dict(type='ImagePatchMask'))(copy.deepcopy(res))
    np.random.seed(3)
    d = TRANSFORMS.build(dict(type='ImagePatchMask'))(copy.deepcopy(res))
    assert torch.equal(c['img_patch_mask'], d['img_patch_mask'])


@pytest.mark.parametrize('mode', ['random', 'range_aware'])
def test_lidar_voxel_mask(lidar_results, mode):
    vs = [0.4, 0.4, 0.4]
    orig = lidar_results['points'].tensor.clone()
    t = TRANSFORMS.build(
        dict(type='LidarVoxelMask', point_cloud_range=PCR, voxel_size=vs, ratio=0.9, mode=mode, seed=0)
    )
    out = t(copy.deepcopy(lidar_results))
    visible, masked = out['points'].tensor, out['masked_points']
    assert len(visible) + len(masked) == len(orig)
    assert _rows(torch.cat([visible, masked])) == _rows(orig)
    mv, vv = out['masked_voxel_coords'], out['visible_voxel_coords']
    n_vox = len(mv) + len(vv)
    coords_all, _ = F.voxel_coords(orig, PCR, vs)
    assert n_vox == len(torch.unique(coords_all, dim=0))
    if mode == 'random':
        assert len(mv) == round(0.9 * n_vox)
    else:
        allv = torch.cat([mv, vv])
        centres = (allv[:, [2, 1]].double() + 0.5) * 0.4 - 54.0
        dist = centres.norm(dim=1)
        is_m = torch.arange(len(allv)) < len(mv)
        for band, ratio in ((dist <= 30, 0.9), ((dist > 30) & (dist <= 50), 0.7), (dist > 50, 0.7)):
            assert int(is_m[band].sum()) == round(ratio * int(band.sum()))
    # every masked point lies in a masked voxel, no visible point does
    mset = set(map(tuple, mv.tolist()))
    cm, _ = F.voxel_coords(masked, PCR, vs)
    cv, _ = F.voxel_coords(visible, PCR, vs)
    assert all(tuple(c) in mset for c in cm.tolist())
    assert not any(tuple(c) in mset for c in cv.tolist())
    again = t.__class__(point_cloud_range=PCR, voxel_size=vs, ratio=0.9, mode=mode, seed=0)(
        copy.deepcopy(lidar_results)
    )
    assert torch.equal(again['masked_voxel_coords'], mv)


def test_bev_guided_mask(lidar_results):
    cell = [0.8, 0.8]
    orig = lidar_results['points'].tensor.clone()
    out = TRANSFORMS.build(dict(type='BEVGuidedMask', point_cloud_range=PCR, bev_cell_size=cell, seed=1))(
        copy.deepcopy(lidar_results)
    )
    ne, e, occ = out['bev_mask_nonempty'], out['bev_mask_empty'], out['bev_nonempty']
    assert ne.shape == e.shape == occ.shape == (135, 135)
    assert int(ne.sum()) == round(0.5 * int(occ.sum()))
    assert int(e.sum()) == round(0.5 * int((~occ).sum()))
    assert not (ne & ~occ).any() and not (e & occ).any()
    _, _, ref_occ = F.bev_depth_height(orig.double(), PCR, cell)
    assert torch.equal(occ, ref_occ)
    visible, masked = out['points'].tensor, out['masked_points']
    assert _rows(torch.cat([visible, masked])) == _rows(orig)
    cm, _ = F.voxel_coords(masked.double(), PCR, cell)
    cv, _ = F.voxel_coords(visible.double(), PCR, cell)
    assert ne[cm[:, 0], cm[:, 1]].all() and not ne[cv[:, 0], cv[:, 1]].any()
