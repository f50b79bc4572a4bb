"""Fixtures of the data-pipeline tests: the real nuScenes keyframe / KITTI frame, loaded once."""

from __future__ import annotations

import copy

import pytest

NUS_PKL = 'n015-2018-07-24-11-22-45+0800.pkl'
NUS_CAMS = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']


def nus_dataset_cfg(root, pipeline=(), **kwargs) -> dict:
    """Config of a NuScenesSSLDataset over the real keyframe (files directly in ``root``)."""
    cfg = dict(
        type='NuScenesSSLDataset',
        data_root=str(root),
        ann_file=NUS_PKL,
        data_prefix=dict(pts='', sweeps='', img=''),
        pipeline=list(pipeline),
        modality=dict(use_lidar=True, use_camera=True),
        camera_names=NUS_CAMS,
        with_label=False,
    )
    cfg.update(kwargs)
    return cfg


def kitti_dataset_cfg(root, pipeline=(), **kwargs) -> dict:
    """Config of a KittiSSLDataset over the real KITTI frame 000008."""
    cfg = dict(
        type='KittiSSLDataset',
        data_root=str(root),
        ann_file='000008.pkl',
        data_prefix=dict(pts='', img=''),
        pipeline=list(pipeline),
        modality=dict(use_lidar=True, use_camera=True),
        camera_names=['CAM2'],
        with_label=False,
    )
    cfg.update(kwargs)
    return cfg


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run pipeline tests with one intra-op thread, as a DataLoader worker does (restored after).

    The pipeline runs many small tensor ops; on a busy 2-core machine a second thread makes
    each of them ~100x slower.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='session')
def nus_loaded(nuscenes_demo_dir):
    """Results dict of the keyframe after loading points (5 dims) and the 6 images."""
    from mmssl.registry import DATASETS, TRANSFORMS

    ds = DATASETS.build(nus_dataset_cfg(nuscenes_demo_dir))
    results = copy.deepcopy(ds.get_data_info(0))
    results['box_type_3d'], results['box_mode_3d'] = ds.box_type_3d, ds.box_mode_3d
    for t in (
        dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
        dict(type='LoadSSLMultiViewImages', camera_names=NUS_CAMS),
    ):
        results = TRANSFORMS.build(t)(results)
    return results


@pytest.fixture
def nus_results(nus_loaded):
    """A fresh copy of :func:`nus_loaded` per test."""
    return copy.deepcopy(nus_loaded)


@pytest.fixture(scope='session')
def nus_cfg(nuscenes_demo_dir):
    """``nus_cfg(pipeline, **kwargs)``: dataset config over the real nuScenes keyframe."""
    return lambda pipeline=(), **kw: nus_dataset_cfg(nuscenes_demo_dir, pipeline, **kw)


@pytest.fixture(scope='session')
def kitti_cfg(kitti_demo_dir):
    """``kitti_cfg(pipeline, **kwargs)``: dataset config over the real KITTI frame."""
    return lambda pipeline=(), **kw: kitti_dataset_cfg(kitti_demo_dir, pipeline, **kw)
