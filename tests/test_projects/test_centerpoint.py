"""CenterPoint (LiDAR only) tiny model: real keyframe, synthetic world, mmdet3d:: inheritance."""

from pathlib import Path

import pytest
import torch

from mmssl.testing.synthetic_batch import (
    build_from_config,
    check_det_predictions,
    check_loss_and_gradients,
    dataset_batch,
    nuscenes_keyframe_batch,
)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'projects/CenterPoint/configs'
TINY = CONFIGS / 'centerpoint_tiny_synthetic.py'


def _lidar_only(batch):
    batch['inputs'].pop('img')
    return batch


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return build_from_config(TINY)


def test_keyframe_loss_backward_and_predict(tiny, nuscenes_demo_dir):
    model, _ = tiny
    assert type(model).__module__ == 'projects.CenterPoint.centerpoint.centerpoint'
    # The init fix: every heatmap bias starts at CenterPoint's -2.19 prior.
    for head in model.pts_bbox_head.task_heads:
        assert torch.allclose(head.heatmap[-1].bias, torch.tensor(-2.19))
    batch = _lidar_only(nuscenes_keyframe_batch(nuscenes_demo_dir))
    losses = check_loss_and_gradients(model, batch)
    # one CenterHead task for the 10 classes (the tiny config's)
    assert len([k for k in losses if k.endswith('loss_heatmap')]) == 1
    check_det_predictions(model, batch)


def test_synthetic_world_pipeline(tiny, synthetic_world):
    model, cfg = tiny
    check_loss_and_gradients(model, dataset_batch(cfg, synthetic_world, 'train'))
    check_det_predictions(model, dataset_batch(cfg, synthetic_world, 'val'))


def test_full_config_inherits_mmdet3d_package_config():
    from mmengine.config import Config

    cfg = Config.fromfile(str(CONFIGS / 'centerpoint_full_nus.py'))
    assert cfg.model.pts_middle_encoder.sparse_shape == [41, 1440, 1440]
    assert cfg.model.test_cfg.pts.nms_type == 'circle'
    assert cfg.model.data_preprocessor.type == 'mmssl.TorchVoxelDataPreprocessor'
    assert cfg.train_dataloader.dataset.type == 'CBGSDataset'
