"""BEVDet (camera only) tiny model: real keyframe and synthetic world."""

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
CONFIGS = REPO / 'projects/BEVDet/configs'


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return build_from_config(CONFIGS / 'bevdet_tiny_synthetic.py')


def test_keyframe_loss_backward_and_predict(tiny, nuscenes_demo_dir):
    model, cfg = tiny
    assert not model.with_lidar and model.fusion_layer is None
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size))
    check_loss_and_gradients(model, batch)
    check_det_predictions(model, batch)


def test_synthetic_world_pipeline(tiny, synthetic_world):
    model, cfg = tiny
    check_loss_and_gradients(model, dataset_batch(cfg, synthetic_world, 'train'))
    check_det_predictions(model, dataset_batch(cfg, synthetic_world, 'val'))


def test_camera_only_is_enforced_and_full_config_loads():
    from mmengine.config import Config

    from mmssl.registry import MODELS

    cfg = Config.fromfile(str(CONFIGS / 'bevdet_full_nus.py'))
    assert cfg.model.view_transform.feature_size == [16, 44]
    bad = dict(cfg.model, pts_middle_encoder=dict(type='mmdet3d.SparseEncoder'))
    with pytest.raises(ValueError, match='camera-only'):
        MODELS.build(bad)


def test_map_segmentation_variant(synthetic_world):
    """Camera-only BEVDet takes BEVFusion's seg head; same pipelines as the BEVFusion map config."""
    from mmengine.config import Config

    torch.manual_seed(0)
    model, cfg = build_from_config(CONFIGS / 'bevdet_seg_map_tiny_synthetic.py')
    assert model.bbox_head is None and not model.with_lidar
    fusion = Config.fromfile(str(REPO / 'projects/BEVFusion/configs/bevfusion_seg_map_tiny_synthetic.py'))
    assert cfg.train_pipeline == fusion.train_pipeline and cfg.test_pipeline == fusion.test_pipeline
    assert cfg.val_evaluator == fusion.val_evaluator
    losses = check_loss_and_gradients(model, dataset_batch(cfg, synthetic_world, 'train'))
    assert set(losses) == {f'loss_seg_{name}' for name in cfg.seg_classes}
