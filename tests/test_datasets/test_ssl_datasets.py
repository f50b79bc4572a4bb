"""NuScenesSSLDataset / KittiSSLDataset on the real samples: calibration, labels, packing."""

import numpy as np
import torch

from mmssl.registry import DATASETS

NUS_CAMS = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']
NUS_PIPE = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=9, load_dim=5, use_dim=[0, 1, 2, 3, 4]),
    dict(type='LoadSSLMultiViewImages', camera_names=NUS_CAMS),
    dict(type='ImageAug3D', final_dim=(128, 352), resize_lim=(0.24, 0.24), is_train=False),
]


def test_nuscenes_keyframe_pretraining(nus_cfg, nuscenes_demo_dir):
    pipe = NUS_PIPE + [dict(type='PackSSLInputs')]
    ds = DATASETS.build(nus_cfg(pipe))
    assert len(ds) == 1 and ds.skipped == []
    info = ds.get_data_info(0)
    assert 'ann_info' not in info and 'instances' not in info and 'cam_instances' not in info
    assert info['lidar_points']['lidar_path'].startswith(str(nuscenes_demo_dir))
    out = ds[0]
    sample = out['data_samples']
    pts = out['inputs']['points']
    assert pts.shape == (34688, 5)
    assert torch.all(pts[:, 4] == 0)  # time lag of the keyframe (no sweeps in the demo)
    assert out['inputs']['img'].shape == (6, 3, 128, 352)
    meta = sample.metainfo
    assert meta['token'] == 'ca9a282c9e77460f8360f564131a8af5' and meta['sample_idx'] == 0
    assert meta['cam_names'] == NUS_CAMS
    for key in ('lidar2img', 'cam2img', 'lidar2cam', 'img_aug_matrix'):
        assert isinstance(meta[key], np.ndarray) and meta[key].shape == (6, 4, 4), key
    assert meta['lidar_aug_matrix'].shape == (4, 4)
    # lidar2img = img_aug @ pad(cam2img) @ lidar2cam, from the raw info
    raw = ds.get_data_info(0)['images']
    for i, cam in enumerate(NUS_CAMS):
        k = np.eye(4)
        k[:3, :3] = raw[cam]['cam2img']
        orig = k @ np.asarray(raw[cam]['lidar2cam'])
        assert np.allclose(meta['ori_lidar2img'][i], orig)
        proj = meta['img_aug_matrix'][i].copy()
        proj[:2, 2], proj[:2, 3] = proj[:2, 3], 0
        assert np.allclose(meta['lidar2img'][i], proj @ orig)
    assert 'bboxes_3d' not in sample.gt_instances_3d and len(sample.gt_instances_3d) == 0


def test_nuscenes_keyframe_labelled(nus_cfg):
    pipe = NUS_PIPE + [
        dict(type='mmdet3d.LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True),
        dict(type='PackSSLInputs', keys=['points', 'img', 'gt_bboxes_3d', 'gt_labels_3d']),
    ]
    ds = DATASETS.build(nus_cfg(pipe, with_label=True))
    gt = ds[0]['data_samples'].gt_instances_3d
    # 69 boxes, the ones without LiDAR points are dropped by MMDet3D (num_lidar_pts > 0)
    assert 0 < len(gt.labels_3d) <= 69 and gt.bboxes_3d.tensor.shape[1] == 9


def test_kitti_frame(kitti_cfg):
    pipe = [
        dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
        dict(type='LoadSSLMultiViewImages', camera_names=['CAM2']),
        dict(type='PackSSLInputs'),
    ]
    ds = DATASETS.build(kitti_cfg(pipe))
    out = ds[0]
    meta = out['data_samples'].metainfo
    assert out['inputs']['points'].shape == (17238, 4)
    assert out['inputs']['img'].shape == (1, 3, 375, 1242)
    assert meta['sample_idx'] == 0 and meta['token'] == '8'  # token = KITTI sample_id
    raw = ds.get_data_info(0)['images']['CAM2']
    # the file's lidar2img is used, and equals cam2img (4x4 P2) @ lidar2cam
    assert np.allclose(meta['lidar2img'][0], raw['lidar2img'])
    assert np.allclose(meta['cam2img'][0] @ meta['lidar2cam'][0], raw['lidar2img'], atol=1e-4)
    # all points of this FOV-cropped frame project inside the image
    pts = out['inputs']['points'].double().numpy()
    cam = np.c_[pts[:, :3], np.ones(len(pts))] @ meta['lidar2img'][0].T
    uv = cam[:, :2] / cam[:, 2:3]
    assert (cam[:, 2] > 0).all()
    assert (uv[:, 0] >= 0).all() and (uv[:, 0] < 1242).all()
    assert (uv[:, 1] >= 0).all() and (uv[:, 1] < 375).all()
    assert len(out['data_samples'].gt_instances_3d) == 0
