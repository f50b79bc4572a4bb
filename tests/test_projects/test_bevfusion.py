"""BEVFusion (camera + LiDAR) tiny model: real keyframe, synthetic world, camera/LiDAR parts."""

from pathlib import Path

import pytest
import torch

from mmssl.testing.synthetic_batch import (
    build_from_config,
    check_det_predictions,
    check_loss_and_gradients,
    dataset_batch,
    nuscenes_keyframe_batch,
    synthetic_multimodal_batch,
)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
FULL = REPO / 'projects/BEVFusion/configs/bevfusion_full_nus.py'


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return build_from_config(TINY)


def test_keyframe_loss_backward_and_predict(tiny, nuscenes_demo_dir):
    model, cfg = tiny
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size))
    losses = check_loss_and_gradients(model, batch)
    # one CenterHead task for the 10 classes (the tiny config's)
    assert {'task0.loss_heatmap', 'task0.loss_bbox', 'loss_seg_vehicle'} <= set(losses)
    out = check_det_predictions(model, batch)
    prob = out[0].pred_bev_seg.prob
    # 2 m cells over [-25, 25] x [-50, 50] m (x, y): 50 rows, 25 columns
    assert prob.shape == (3, 50, 25) and 0 <= float(prob.min()) and float(prob.max()) <= 1
    # The keyframe has 8 cars etc.: the rasterised vehicle target is not empty.
    assert out[0].gt_bev_seg.masks[0].sum() > 0
    from mmssl.evaluation import BEVSegMetric

    metric = BEVSegMetric(classes=['vehicle', 'pedestrian', 'barrier'])
    metric.process({}, [s.to_dict() for s in out])
    scores = metric.compute_metrics(metric.results)
    assert 0 <= scores['mIoU'] <= 1 and set(scores) >= {'vehicle/IoU', 'mIoU'}


def test_keyframe_through_the_data_pipeline(tiny, nuscenes_demo_dir):
    """The real keyframe through the config's own (augmenting) train and test pipelines."""
    model, cfg = tiny
    info = next(nuscenes_demo_dir.glob('*.pkl'))
    files = dict(root=nuscenes_demo_dir, train_info=info, val_info=info)
    batch = dataset_batch(cfg, files, 'train', flat=True)
    assert batch['inputs']['img'][0].shape == (6, 3, 128, 352)
    assert len(batch['data_samples'][0].gt_instances_3d) > 0
    check_loss_and_gradients(model, batch)
    check_det_predictions(model, dataset_batch(cfg, files, 'val', flat=True))


def test_voxels_and_camera_bev_shapes(tiny, nuscenes_demo_dir):
    model, cfg = tiny
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size))
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        vox = data['inputs']['voxels']
        assert vox['voxels'].shape[1:] == (10, 5) and vox['coors'].shape[1] == 4  # 10 points per voxel
        assert data['inputs']['imgs'].shape == (1, 6, 3, 128, 352)
        cam = model.camera_bev(data['inputs'], data['data_samples'])
        lidar = model.lidar_bev(data['inputs'], 1)
    # 0.8 m cells over [-25.6, 25.6] x [-51.2, 51.2] m: (Y, X) = (128, 64)
    assert cam.shape == (1, 16, 128, 64) and lidar.shape == (1, 64, 128, 64)
    assert cam.abs().sum() > 0


def test_loss_decreases_on_one_sample(nuscenes_demo_dir):
    """Five AdamW steps on one real keyframe reduce the total loss (the model can learn)."""
    torch.manual_seed(0)
    model, cfg = build_from_config(TINY)
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size))
    from mmengine.optim import OptimWrapper

    wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    model.train()
    logs = [float(model.train_step(batch, wrapper)['loss']) for _ in range(5)]
    assert all(torch.isfinite(torch.tensor(logs)))
    assert logs[-1] < 0.8 * logs[0], logs


def test_synthetic_world_pipeline_train_and_predict(tiny, synthetic_world):
    model, cfg = tiny
    batch = dataset_batch(cfg, synthetic_world, 'train')
    assert batch['inputs']['img'][0].shape == (6, 3, 128, 352)
    check_loss_and_gradients(model, batch)
    val = dataset_batch(cfg, synthetic_world, 'val')
    check_det_predictions(model, val)


def test_random_batch_of_two(tiny):
    model, cfg = tiny
    batch = synthetic_multimodal_batch(batch_size=2, image_size=tuple(cfg.image_size), num_points=3000)
    losses = check_loss_and_gradients(model, batch)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert len(check_det_predictions(model, batch)) == 2


def test_full_config_builds_published_sizes():
    from mmengine.config import Config

    cfg = Config.fromfile(str(FULL))
    m = cfg.model
    assert m.img_backbone.type == 'mmdet.SwinTransformer' and m.img_backbone.init_cfg is None
    assert m.view_transform.image_size == [256, 704] and m.view_transform.dbound == [1.0, 60.0, 0.5]
    assert m.data_preprocessor.voxel_layer.voxel_size == [0.075, 0.075, 0.2]
    assert cfg.train_dataloader.dataset.pipeline[1].sweeps_num == 9
    assert cfg.train_dataloader.dataset.metainfo.classes[2] == 'construction_vehicle'


def test_bad_configs_raise():
    from mmssl.registry import MODELS

    with pytest.raises(ValueError, match='camera branch'):
        MODELS.build(dict(type='BEVFusion', pts_backbone=dict(type='mmdet3d.SECOND')))


def test_segmentation_only_config(nuscenes_demo_dir):
    torch.manual_seed(0)
    model, cfg = build_from_config(REPO / 'projects/BEVFusion/configs/bevfusion_seg_tiny_synthetic.py')
    assert model.bbox_head is None and cfg.val_evaluator.type == 'BEVSegMetric'
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=tuple(cfg.image_size))
    losses = check_loss_and_gradients(model, batch)
    assert set(losses) == {'loss_seg_vehicle', 'loss_seg_pedestrian', 'loss_seg_barrier'}
    model.eval()
    with torch.no_grad():
        out = model.test_step(batch)
    assert 'pred_instances_3d' not in out[0] and out[0].pred_bev_seg.prob.shape == (3, 50, 25)


def test_map_segmentation_config_on_the_synthetic_world(synthetic_world):
    """Map-layer targets from the pipeline train and evaluate the 5-class head (BEVSegMetric)."""
    from mmssl.evaluation import BEVSegMetric
    from mmssl.registry import METRICS

    torch.manual_seed(0)
    model, cfg = build_from_config(REPO / 'projects/BEVFusion/configs/bevfusion_seg_map_tiny_synthetic.py')
    losses = check_loss_and_gradients(model, dataset_batch(cfg, synthetic_world, 'train', indices=(0, 1)))
    assert set(losses) == {f'loss_seg_{name}' for name in cfg.seg_classes}
    model.eval()
    with torch.no_grad():
        out = model.test_step(dataset_batch(cfg, synthetic_world, 'val'))
    assert out[0].pred_bev_seg.prob.shape == out[0].gt_bev_seg.masks.shape == (5, 100, 50)
    assert out[0].gt_bev_seg.masks[1].any()  # drivable area from the road frames
    metric = METRICS.build(cfg.val_evaluator)
    assert isinstance(metric, BEVSegMetric)
    metric.process({}, out)
    scores = metric.compute_metrics(metric.results)
    assert {'vehicle/IoU', 'divider/IoU', 'mIoU', 'map_mIoU'} <= set(scores)
    # without map targets the head cannot build the map classes' targets from boxes
    del out[0].gt_bev_seg
    with pytest.raises(
        KeyError, match=r"\['drivable_area', 'carpark_area', 'walkway', 'divider'\].*gt_bev_seg"
    ):
        model.seg_head.get_targets(out, torch.device('cpu'))
