"""Map-layer targets through the real data path: tiny generated world -> dataset -> packed masks.

The masks are checked against what the renderer put on the ground: the road-frame band of every
ground point (the points as loaded and augmented by the pipeline, mapped back with the packed
``lidar_aug_matrix`` and the info file's poses) and the painted lane markings, which are the
only ground surfaces with a LiDAR intensity of 39 or more near the sensor. Points are
``x, y, z, intensity, time lag`` (``LoadSSLPointsFromMultiSweeps``).
"""

from __future__ import annotations

from pathlib import Path

import mmengine
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmssl.datasets.synthetic.maps import load_road_frames
from mmssl.datasets.synthetic.road import PARKING_OUTER, ROAD_HALF_WIDTH, WALKWAY_OUTER
from mmssl.datasets.transforms.map_targets import points_in_boxes_bev
from mmssl.testing.maps import road_y_of_lidar_points
from mmssl.testing.synthetic_batch import dataset_batch

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'projects/BEVFusion/configs/bevfusion_seg_map_tiny_synthetic.py'
#: Ground markings reflect 0.45-0.5, every other ground surface at most 0.15 (appearance.py):
#: within 8 m of the 1.84 m high sensor (incidence term >= 0.37) markings return >= 43, the rest
#: <= 38.25.
MARKING_INTENSITY = 39.0
NEAR = 8.0


def _config(divider_width: float) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    for split in ('train', 'val'):
        targets = cfg[f'{split}_dataloader'].dataset.pipeline[-2]
        assert targets.type == 'LoadBEVMapSegmentation'
        targets.divider_width = divider_width
    return cfg


def _poses(world: dict, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    infos = mmengine.load(str(world[f'{split}_info']))['data_list']
    return {
        i['token']: (np.asarray(i['lidar_points']['lidar2ego']), np.asarray(i['ego2global'])) for i in infos
    }


def _cell_of(xy: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, inside) of points in the seg grid."""
    xb, yb = cfg.seg_xbound, cfg.seg_ybound
    col = np.floor((xy[:, 0] - xb[0]) / xb[2]).astype(int)
    row = np.floor((xy[:, 1] - yb[0]) / yb[2]).astype(int)
    inside = (col >= 0) & (col < round((xb[1] - xb[0]) / xb[2])) & (row >= 0)
    inside &= row < round((yb[1] - yb[0]) / yb[2])
    return row, col, inside


def _check_sample(cfg, world, split, points, sample, boxes):
    """Masks of one packed sample against its ground points; returns the masks (K, Y, X)."""
    masks = sample.gt_bev_seg.masks.numpy()
    classes = cfg.seg_classes
    assert masks.shape == (5, 100, 50) and classes[0] == 'vehicle'
    drivable = masks[classes.index('drivable_area')]
    assert 0.05 < drivable.mean() < 0.95, drivable.mean()
    for name in ('carpark_area', 'walkway', 'divider'):
        assert masks[classes.index(name)].any(), name
    token = sample.metainfo['token']
    aug = np.asarray(sample.metainfo.get('lidar_aug_matrix', np.eye(4)))
    lidar2ego, ego2global = _poses(world, split)[token]
    origin, yaw = load_road_frames(world['root']).frame_of(token)
    pts = points.numpy().astype(np.float64)
    glob_z, road_y = road_y_of_lidar_points(pts, aug, lidar2ego, ego2global, origin, yaw)
    ground = np.abs(glob_z) < 0.02
    row, col, inside = _cell_of(pts[:, :2], cfg)
    sel = ground & inside
    assert sel.sum() > 1000
    # Every ground point farther from a band edge than a cell's half diagonal (in the unscaled
    # frame) lies in a cell of its own band.
    scale = np.sqrt(abs(np.linalg.det(aug[:2, :2])))
    margin = np.sqrt(2) * cfg.seg_xbound[2] / 2 / scale + 1e-3
    ay = np.abs(road_y)
    edges = np.array([ROAD_HALF_WIDTH, PARKING_OUTER, WALKWAY_OUTER])
    clear = sel & (np.abs(ay[:, None] - edges).min(1) > margin)
    bands = {
        'drivable_area': ay < ROAD_HALF_WIDTH,
        'carpark_area': (ay >= ROAD_HALF_WIDTH) & (ay < PARKING_OUTER),
        'walkway': (ay >= PARKING_OUTER) & (ay < WALKWAY_OUTER),
    }
    for name, band in bands.items():
        cell = masks[classes.index(name)][row[clear], col[clear]]
        np.testing.assert_array_equal(cell, band[clear], err_msg=f'{token}: {name}')
        assert band[clear].any(), name
    # The painted markings (renderer intensity) near the sensor are all in divider cells. Only
    # keyframe points (time lag 0): the boxes of sweeps up to 1.5 s older are elsewhere.
    orig = (np.linalg.inv(aug) @ np.concatenate([pts[:, :3], np.ones((len(pts), 1))], 1).T).T
    near = np.linalg.norm(orig[:, :2], axis=1) < NEAR
    grown = boxes.copy()
    grown[:, 3:5] += 0.6
    off_boxes = ~points_in_boxes_bev(pts[:, :2], grown)
    marking = sel & near & off_boxes & (pts[:, 4] == 0) & (pts[:, 3] >= MARKING_INTENSITY)
    assert marking.sum() > 20, marking.sum()
    assert masks[classes.index('divider')][row[marking], col[marking]].all()
    return masks


@pytest.mark.parametrize('seed', [0, 1])
def test_training_masks_follow_the_augmented_points_and_boxes(synthetic_world, seed):
    from projects.BEVFusion.bevfusion.bev_seg_head import rasterize_boxes_bev

    # divider cells within 1 m of a line: a marking point (<= 0.1 m off its line) is in one
    cfg = _config(divider_width=2.0)
    np.random.seed(seed)
    batch = dataset_batch(cfg, synthetic_world, 'train', indices=(0, 3))
    vehicle_ids = [cfg.class_names.index(n) for n in cfg.seg_class_groups['vehicle']]
    for points, sample in zip(batch['inputs']['points'], batch['data_samples']):
        assert not np.allclose(sample.metainfo['lidar_aug_matrix'], np.eye(4))
        boxes = sample.gt_instances_3d.bboxes_3d.tensor
        masks = _check_sample(cfg, synthetic_world, 'train', points, sample, boxes.numpy())
        vehicles = boxes[torch.isin(sample.gt_instances_3d.labels_3d, torch.tensor(vehicle_ids))]
        assert len(vehicles) > 0
        expected = rasterize_boxes_bev(vehicles, cfg.seg_xbound, cfg.seg_ybound).numpy()
        np.testing.assert_array_equal(masks[0], expected)


def test_test_mode_masks_use_the_evaluation_boxes(synthetic_world):
    from projects.BEVFusion.bevfusion.bev_seg_head import rasterize_boxes_bev

    cfg = _config(divider_width=2.0)
    batch = dataset_batch(cfg, synthetic_world, 'val', indices=(1,))
    sample, points = batch['data_samples'][0], batch['inputs']['points'][0]
    ann = sample.eval_ann_info
    boxes = ann['gt_bboxes_3d'].tensor
    masks = _check_sample(cfg, synthetic_world, 'val', points, sample, boxes.numpy())
    vehicle_ids = [cfg.class_names.index(n) for n in cfg.seg_class_groups['vehicle']]
    vehicles = boxes[torch.isin(torch.as_tensor(ann['gt_labels_3d']), torch.tensor(vehicle_ids))]
    np.testing.assert_array_equal(masks[0], rasterize_boxes_bev(vehicles, cfg.seg_xbound, cfg.seg_ybound))
