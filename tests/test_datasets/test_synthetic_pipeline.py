"""The synthetic-world dataset configs run on the session's synthetic nuScenes world."""

from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config

from mmssl.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]


def _dataset(config, world, info_key, split='train'):
    cfg = Config.fromfile(str(REPO / 'configs/_base_/datasets' / config))
    ds_cfg = cfg[f'{split}_dataloader']['dataset']
    ds_cfg.update(data_root=str(world['root']), ann_file=str(world[info_key]))
    return DATASETS.build(ds_cfg)


def test_synthetic_pretrain_pipeline(synthetic_world):
    ds = _dataset('synthetic_nus_pretrain.py', synthetic_world, 'train_info')
    assert len(ds) > 0 and ds.skipped == []
    np.random.seed(0)
    out = ds[0]
    pts = out['inputs']['points']
    lag = pts[:, 4]
    assert (lag == 0).any() and (lag > 0).any()  # keyframe and 2 real sweeps with time lag
    assert out['inputs']['img'].shape == (6, 3, 128, 352)
    t = out['data_samples'].ssl_targets
    assert t.depth_maps.shape == (6, 128, 352) and (t.depth_maps > 0).sum() > 100
    assert t.img_patch_mask.shape == (6, 32, 88)
    assert t.img_patch_mask.flatten(1).sum(1).tolist() == [1408] * 6
    assert len(out['data_samples'].gt_instances_3d) == 0


def test_synthetic_det_pipeline(synthetic_world):
    ds = _dataset('synthetic_nus_det.py', synthetic_world, 'train_info')
    np.random.seed(0)
    gt = ds[0]['data_samples'].gt_instances_3d
    assert len(gt.labels_3d) > 0 and gt.bboxes_3d.tensor.shape[1] == 9
    val = _dataset('synthetic_nus_det.py', synthetic_world, 'val_info', split='val')
    sample = val[0]['data_samples']
    assert sample.eval_ann_info is not None and isinstance(sample.metainfo['lidar2img'], np.ndarray)
    assert torch.is_tensor(val[0]['inputs']['img'])


def test_dataset_version_comes_from_the_info_file(synthetic_world):
    """A v1.0-mini world must report v1.0-mini (NuScenesMetric opens that devkit version)."""
    from mmssl.datasets import NuScenesSSLDataset

    ds = NuScenesSSLDataset(
        data_root=str(synthetic_world['root']),
        ann_file=str(synthetic_world['val_info']),
        pipeline=[],
        test_mode=True,
        with_label=True,
        data_prefix=dict(pts='samples/LIDAR_TOP', sweeps='sweeps/LIDAR_TOP'),
    )
    assert synthetic_world['version'] == 'v1.0-mini'
    assert ds.metainfo['version'] == 'v1.0-mini'
    override = NuScenesSSLDataset(
        data_root=str(synthetic_world['root']),
        ann_file=str(synthetic_world['val_info']),
        pipeline=[],
        test_mode=True,
        with_label=True,
        metainfo=dict(version='v1.0-trainval'),
        data_prefix=dict(pts='samples/LIDAR_TOP', sweeps='sweeps/LIDAR_TOP'),
    )
    assert override.metainfo['version'] == 'v1.0-trainval'
