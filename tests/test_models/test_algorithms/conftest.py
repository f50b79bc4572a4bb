"""A real nuScenes keyframe as a pre-training batch for the NS-MAE tests (no pipeline needed)."""

import pickle

import numpy as np
import pytest
import torch
from mmdet3d.structures import Det3DDataSample
from PIL import Image


def load_keyframe_batch(root, image_size=(128, 352), num_cams=6):
    """Data-preprocessor input for the keyframe: its first ``num_cams`` images resized.

    The resize is recorded in ``img_aug_matrix`` (original pixel -> resized pixel); the images
    are BGR uint8 (N, 3, H, W) as MMCV loads them, the points (N, 5) float32.
    """
    info = pickle.load(open(next(root.glob('*.pkl')), 'rb'))['data_list'][0]
    pts = np.fromfile(root / info['lidar_points']['lidar_path'], dtype=np.float32).reshape(-1, 5)
    h, w = image_size
    imgs, cam2img, lidar2cam, aug, lidar2img = [], [], [], [], []
    for cam in list(info['images'].values())[:num_cams]:
        im = Image.open(root / cam['img_path']).convert('RGB')
        sx, sy = w / im.width, h / im.height
        im = np.asarray(im.resize((w, h), Image.BILINEAR))[..., ::-1]
        imgs.append(torch.from_numpy(im.copy()).permute(2, 0, 1))
        k = np.eye(4)
        k[:3, :3] = np.asarray(cam['cam2img'])
        a = np.diag([sx, sy, 1.0, 1.0])
        cam2img.append(k)
        lidar2cam.append(np.asarray(cam['lidar2cam']))
        aug.append(a)
        lidar2img.append(a @ k @ np.asarray(cam['lidar2cam']))
    meta = dict(
        sample_idx=info['sample_idx'],
        token=info['token'],
        img_shape=(h, w),
        cam2img=np.stack(cam2img),
        lidar2cam=np.stack(lidar2cam),
        img_aug_matrix=np.stack(aug),
        lidar2img=np.stack(lidar2img),
        lidar_aug_matrix=np.eye(4),
        num_pts_feats=5,
        box_type_3d=None,
    )
    ds = Det3DDataSample(metainfo=meta)
    return dict(inputs=dict(points=[torch.from_numpy(pts)], img=[torch.stack(imgs)]), data_samples=[ds])


@pytest.fixture(scope='module')
def nsmae_batch(nuscenes_demo_dir):
    """The keyframe at the tiny configs' 128x352 image size."""
    return load_keyframe_batch(nuscenes_demo_dir, (128, 352))


@pytest.fixture(scope='module')
def nsmae_batch_2cams(nuscenes_demo_dir):
    """The keyframe with its first two cameras only (cheaper, for the 50-step test)."""
    return load_keyframe_batch(nuscenes_demo_dir, (128, 352), num_cams=2)
