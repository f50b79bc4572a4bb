"""PackSSLInputs output is batched by MMDet3D's Det3DDataPreprocessor on the CPU."""

import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import BaseDataElement

from mmssl.registry import MODELS, TRANSFORMS

PCR = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]


@pytest.fixture(scope='module')
def packed_batch(nus_loaded):
    pipe = [
        TRANSFORMS.build(t)
        for t in [
            dict(type='ImageAug3D', final_dim=(128, 352), resize_lim=(0.22, 0.26), rand_flip=True),
            dict(type='SSLGlobalRotScaleTrans'),
            dict(type='SSLPointsRangeFilter', point_cloud_range=PCR),
            dict(type='DepthMapTarget', stride=4),
            dict(type='OccupancyTarget', point_cloud_range=PCR, voxel_size=[0.6, 0.6, 0.4]),
            dict(type='ImagePatchMask', ratio=0.5, patch_size=4),
            dict(type='LidarVoxelMask', point_cloud_range=PCR, voxel_size=[0.3, 0.3, 0.4]),
            dict(
                type='BEVDepthHeightTarget',
                point_cloud_range=PCR,
                bev_cell_size=[0.6, 0.6],
                points_key='masked_points',
            ),
            dict(type='PointToPixelTarget'),
            dict(type='PackSSLInputs'),
        ]
    ]
    samples = []
    for seed in range(2):
        np.random.seed(seed)
        results = copy.deepcopy(nus_loaded)
        for t in pipe:
            results = t(results)
        samples.append(results)
    return samples


def test_pack_contract(packed_batch):
    sample = packed_batch[0]['data_samples']
    inputs = packed_batch[0]['inputs']
    assert inputs['img'].shape == (6, 3, 128, 352) and inputs['img'].dtype == torch.uint8
    assert inputs['points'].ndim == 2 and inputs['points'].shape[1] == 5
    t = sample.ssl_targets
    assert isinstance(t, BaseDataElement)
    assert t.depth_maps.shape == (6, 32, 88) and t.img_patch_mask.shape == (6, 32, 88)
    assert t.occupancy.shape == (20, 180, 180) and t.occupancy.dtype == torch.bool
    assert t.bev_depth.shape == t.bev_height.shape == (180, 180)
    assert t.masked_points.shape[1] == 5 and t.point2pixel.shape[1] == 4
    assert len(t.masked_points) + len(inputs['points']) > 30000
    assert t.point2pixel[:, 0].max() < len(inputs['points'])  # indices of the visible points
    meta = sample.metainfo
    for key in ('lidar2img', 'cam2img', 'lidar2cam', 'img_aug_matrix'):
        assert meta[key].shape == (6, 4, 4)
    assert meta['lidar_aug_matrix'].shape == (4, 4) and meta['img_shape'] == (128, 352)
    assert meta['num_pts_feats'] == 5 and 'token' in meta and 'sample_idx' in meta


@pytest.mark.parametrize('voxel', [False, True])
def test_det3d_data_preprocessor_batches(packed_batch, voxel):
    cfg = dict(
        type='mmdet3d.Det3DDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
    )
    if voxel:
        cfg.update(
            voxel=True,
            voxel_type='hard',
            voxel_layer=dict(
                max_num_points=10,
                point_cloud_range=PCR,
                voxel_size=[0.3, 0.3, 8.0],
                max_voxels=(90000, 120000),
            ),
        )
    pre = MODELS.build(cfg)
    batch = pre(pseudo_collate(copy.deepcopy(packed_batch)), training=True)
    imgs = batch['inputs']['imgs']
    assert imgs.shape == (2, 6, 3, 128, 352) and imgs.dtype == torch.float32
    raw = packed_batch[0]['inputs']['img'][0].float()
    expect = (raw[[2, 1, 0]] - torch.tensor([123.675, 116.28, 103.53])[:, None, None]) / torch.tensor(
        [58.395, 57.12, 57.375]
    )[:, None, None]
    assert torch.allclose(imgs[0, 0], expect, atol=1e-4)
    assert len(batch['inputs']['points']) == 2
    if voxel:
        vox = batch['inputs']['voxels']
        assert vox['voxels'].shape[1:] == (10, 5) and vox['coors'].shape[1] == 4
        assert set(vox['coors'][:, 0].tolist()) == {0, 1}
    ds = batch['data_samples']
    assert len(ds) == 2 and ds[1].ssl_targets.depth_maps.shape == (6, 32, 88)
