"""Map layers of the synthetic world: known-answer rasterisation, augmentation, the road-frame file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from mmdet3d.structures import LiDARInstance3DBoxes, LiDARPoints

from mmssl.datasets.synthetic.maps import ROAD_FRAMES_FILE, load_road_frames, recompute_road_frames
from mmssl.datasets.synthetic.road import MAP_LAYER_NAMES, map_layer_bands
from mmssl.datasets.synthetic.scene import EGO_LANE_Y
from mmssl.registry import TRANSFORMS
from mmssl.testing.maps import map_results, pose2d, write_hand_placed_road_frame
from mmssl.testing.runs import import_tool

MAP = ['drivable_area', 'carpark_area', 'walkway', 'divider']
ROAD = dict(origin=(140.0, -35.0), yaw=0.6)
VEHICLE = dict(vehicle=['car', 'truck'])
DATASET_CLASSES = ['car', 'truck', 'pedestrian']


def _transform(root, classes=MAP, xbound=(-20.0, 20.0, 0.5), ybound=(-30.0, 30.0, 0.5), **kwargs):
    return TRANSFORMS.build(
        dict(
            type='LoadBEVMapSegmentation',
            data_root=str(root) if root is not None else None,
            classes=classes,
            xbound=xbound,
            ybound=ybound,
            class_groups=VEHICLE,
            dataset_classes=DATASET_CLASSES,
            **kwargs,
        )
    )


def _ego_on_road(x_road: float, y_road: float) -> np.ndarray:
    """ego2global of an ego at road coordinates (x, y) heading along the road."""
    c, s = np.cos(ROAD['yaw']), np.sin(ROAD['yaw'])
    gx = ROAD['origin'][0] + c * x_road - s * y_road
    gy = ROAD['origin'][1] + s * x_road + c * y_road
    return pose2d(gx, gy, ROAD['yaw'])


def _expected(road_y: np.ndarray, divider_width: float) -> np.ndarray:
    """The world's road cross-section, in numbers: road |y| < 7, parking strip to 9.5, pavement
    to 13.5; lines at |y| = 0.12 (double centre line), 3.5 (lanes), 6.8 (road edges)."""
    ay = np.abs(road_y)
    lines = np.abs(ay[..., None] - np.array([0.12, 3.5, 6.8])).min(-1)
    return np.stack(
        [ay < 7.0, (ay >= 7.0) & (ay < 9.5), (ay >= 9.5) & (ay < 13.5), lines < divider_width / 2]
    )


@pytest.fixture
def road_root(tmp_path):
    root = tmp_path / 'world'
    write_hand_placed_road_frame(root, ROAD['origin'], ROAD['yaw'], ['tok'])
    return root


def test_layers_are_the_texture_bands():
    assert tuple(map_layer_bands()) == MAP_LAYER_NAMES
    assert map_layer_bands()['drivable_area']['abs_y'] == [0.0, 7.0]
    assert map_layer_bands()['walkway']['abs_y'] == [9.5, 13.5]
    assert map_layer_bands()['divider']['abs_y'] == pytest.approx([0.12, 3.5, 6.8])


def test_road_along_lidar_x_gives_drivable_rows(road_root):
    """LiDAR axes = ego axes, ego at road y = -1.6: road y = y_lidar - 1.6 on every column."""
    y0 = -1.6
    results = map_results('tok', _ego_on_road(12.0, y0), pose2d(0.9, 0.0, 0.0, z=1.84))
    masks = _transform(road_root, divider_width=0.5)(results)['gt_bev_seg']
    ys = np.arange(-29.75, 30.0, 0.5)
    assert masks.shape == (4, 120, 80) and masks.dtype == bool
    expected = _expected(ys + y0, 0.5)[:, :, None].repeat(80, axis=2)
    np.testing.assert_array_equal(masks, expected)
    # drivable rows exactly where |y - 1.6| < 7: y in (-5.4, 8.6), i.e. the 28 rows -5.25 .. 8.25
    rows = np.flatnonzero(masks[0, :, 0])
    assert len(rows) == 28 and ys[rows[0]] == -5.25 and ys[rows[-1]] == 8.25


def test_rig_lidar_yaw_gives_drivable_columns(road_root):
    """The world's rig: LiDAR rotated by -90 deg in the ego frame, so road y = y0 - x_lidar."""
    y0 = EGO_LANE_Y + 0.15
    results = map_results('tok', _ego_on_road(-3.0, y0), pose2d(0.9, 0.0, -np.pi / 2, z=1.84))
    masks = _transform(road_root, divider_width=0.75)(results)['gt_bev_seg']
    xs = np.arange(-19.75, 20.0, 0.5)
    expected = _expected(y0 - xs, 0.75)[:, None, :].repeat(120, axis=1)
    np.testing.assert_array_equal(masks, expected)
    assert 0 < masks[3].sum() < masks[0].sum()


def _aug(yaw: float = 0.0, scale: float = 1.0, trans=(0.0, 0.0, 0.0), flip_y: bool = False) -> np.ndarray:
    mat = pose2d(*trans[:2], yaw, z=trans[2])
    mat[:3, :3] *= scale
    if flip_y:
        mat = np.diag([1.0, -1.0, 1.0, 1.0]) @ mat
    return mat


def test_augmentation_moves_the_masks_with_the_points(road_root):
    square = dict(xbound=(-20.0, 20.0, 0.5), ybound=(-20.0, 20.0, 0.5))
    tf = _transform(road_root, **square)
    ego, lidar2ego = _ego_on_road(7.0, -1.3), pose2d(0.9, 0.0, -np.pi / 2 + 0.2, z=1.84)
    plain = tf(map_results('tok', ego, lidar2ego))['gt_bev_seg']
    # +90 deg about z: the augmented cell (x', y') is the original (y', -x'), i.e. a clockwise
    # quarter turn of the (Y, X) array.
    rotated = tf(map_results('tok', ego, lidar2ego, _aug(np.pi / 2)))['gt_bev_seg']
    np.testing.assert_array_equal(rotated, np.rot90(plain, k=-1, axes=(1, 2)))
    flipped = tf(map_results('tok', ego, lidar2ego, _aug(flip_y=True)))['gt_bev_seg']
    np.testing.assert_array_equal(flipped, plain[:, ::-1, :])
    # any recorded augmentation = rasterising in the frame it defines
    aug = _aug(0.3, 1.04, (0.4, -0.7, 0.1), flip_y=True)
    augmented = tf(map_results('tok', ego, lidar2ego, aug))['gt_bev_seg']
    moved_frame = tf(map_results('tok', ego, lidar2ego @ np.linalg.inv(aug)))['gt_bev_seg']
    np.testing.assert_array_equal(augmented, moved_frame)
    assert not np.array_equal(augmented, plain)


def test_box_classes_follow_bevseghead_and_the_augmentation(road_root):
    from projects.BEVFusion.bevfusion.bev_seg_head import rasterize_boxes_bev

    boxes = LiDARInstance3DBoxes(
        torch.tensor(
            [
                [3.0, 4.0, -1.0, 4.5, 2.0, 1.6, 0.4],
                [-8.0, -2.0, -1.0, 7.0, 2.6, 3.0, -1.2],
                [5.0, -9.0, -1.0, 0.7, 0.7, 1.8, 0.0],
            ]
        )
    )
    labels = np.array([0, 1, 2])
    square = dict(xbound=(-20.0, 20.0, 0.5), ybound=(-20.0, 20.0, 0.5))
    tf = _transform(road_root, classes=['vehicle', 'drivable_area', 'pedestrian'], **square)
    ego, lidar2ego = _ego_on_road(0.0, -1.75), pose2d(0.9, 0.0, -np.pi / 2, z=1.84)
    train = dict(map_results('tok', ego, lidar2ego), gt_bboxes_3d=boxes, gt_labels_3d=labels)
    masks = tf(train)['gt_bev_seg']
    vehicle = rasterize_boxes_bev(boxes.tensor[:2], square['xbound'], square['ybound']).numpy()
    pedestrian = rasterize_boxes_bev(boxes.tensor[2:], square['xbound'], square['ybound']).numpy()
    np.testing.assert_array_equal(masks[0], vehicle)
    np.testing.assert_array_equal(masks[2], pedestrian)
    assert masks[0].sum() > 0 and masks[2].sum() > 0
    # test mode: original-frame boxes of eval_ann_info are moved by the recorded augmentation
    test = dict(
        map_results('tok', ego, lidar2ego, _aug(np.pi / 2)),
        eval_ann_info=dict(gt_bboxes_3d=boxes, gt_labels_3d=labels),
    )
    np.testing.assert_array_equal(tf(test)['gt_bev_seg'], np.rot90(masks, k=-1, axes=(1, 2)))
    with pytest.raises(KeyError, match='tok.*gt_bboxes_3d'):
        tf(map_results('tok', ego, lidar2ego))


def test_errors_name_the_file_sample_and_command(tmp_path, road_root):
    results = map_results('tok', np.eye(4), np.eye(4))
    with pytest.raises(FileNotFoundError, match=r'maps/road_frames\.json.*tools/add_map_layers\.py'):
        _transform(tmp_path / 'old_world')(results)
    lidar = tmp_path / 'old_world' / 'samples' / 'LIDAR_TOP' / 'x.pcd.bin'
    found = _transform(None)
    with pytest.raises(FileNotFoundError, match=r'x\.pcd\.bin.*tools/add_map_layers\.py'):
        found(dict(results, lidar_points=dict(results['lidar_points'], lidar_path=str(lidar))))
    # data_root=None finds the file above the sample's LiDAR file
    lidar = road_root / 'samples' / 'LIDAR_TOP' / 'x.pcd.bin'
    out = found(dict(results, lidar_points=dict(results['lidar_points'], lidar_path=str(lidar))))
    assert out['gt_bev_seg'].shape == (4, 120, 80)
    with pytest.raises(KeyError, match="'other'.*road_frames"):
        _transform(road_root)(dict(results, token='other'))
    with pytest.raises(ValueError, match=r"\['sidewalk'\] are neither map layers"):
        _transform(road_root, classes=['sidewalk'])(results)
    tilt = pose2d(0.0, 0.0, 0.0)
    tilt[:3, :3] = [[1, 0, 0], [0, np.cos(0.1), -np.sin(0.1)], [0, np.sin(0.1), np.cos(0.1)]]
    with pytest.raises(ValueError, match='tok: lidar_aug_matrix mixes z'):
        _transform(road_root)(dict(results, lidar_aug_matrix=tilt))


def test_packing_carries_the_masks():
    packer = TRANSFORMS.build(dict(type='PackSSLInputs', keys=['points', 'gt_bev_seg']))
    masks = np.zeros((2, 6, 4), dtype=bool)
    masks[1, 2:4] = True
    packed = packer(dict(points=LiDARPoints(torch.zeros(3, 4), points_dim=4), gt_bev_seg=masks, token='t'))
    got = packed['data_samples'].gt_bev_seg.masks
    assert got.dtype == torch.bool and got.shape == (2, 6, 4)
    assert torch.equal(got, torch.from_numpy(masks))
    unpacked = TRANSFORMS.build(dict(type='PackSSLInputs', keys=['points']))(
        dict(points=LiDARPoints(torch.zeros(3, 4), points_dim=4), gt_bev_seg=masks)
    )
    assert 'gt_bev_seg' not in unpacked['data_samples']


def test_generation_writes_road_frames_and_the_tool_reproduces_them(synthetic_world, tmp_path):
    root = synthetic_world['root']
    fresh = json.loads((root / ROAD_FRAMES_FILE).read_text())
    summary = json.loads((root / 'synthetic_world.json').read_text())
    assert [s['name'] for s in fresh['scenes']] == sorted(summary['train_scenes'] + summary['val_scenes'])
    # the recorded frame is the one the scene was rendered in: the ego starts at road (0, EGO_LANE_Y)
    tables = root / synthetic_world['version']
    poses = {p['token']: p for p in json.loads((tables / 'ego_pose.json').read_text())}
    first = {
        sd['sample_token']: poses[sd['ego_pose_token']]['translation']
        for sd in json.loads((tables / 'sample_data.json').read_text())
        if sd['is_key_frame'] and '__LIDAR_TOP__' in sd['filename']
    }
    for scene in fresh['scenes']:
        c, s = np.cos(scene['road_yaw']), np.sin(scene['road_yaw'])
        start = np.array(scene['road_origin']) + EGO_LANE_Y * np.array([-s, c])
        np.testing.assert_allclose(first[scene['sample_tokens'][0]][:2], start, atol=1e-4)
    # an "old" world: the same tables and settings, no road frames
    old = tmp_path / 'old'
    shutil.copytree(tables, old / synthetic_world['version'])
    shutil.copy(root / 'synthetic_world.json', old / 'synthetic_world.json')
    with pytest.raises(FileNotFoundError, match='add_map_layers'):
        load_road_frames(old)
    tool = import_tool('tools/add_map_layers.py')
    tool.main([str(old)])
    assert (old / ROAD_FRAMES_FILE).read_bytes() == (root / ROAD_FRAMES_FILE).read_bytes()
    tool.main([str(old)])  # idempotent
    # settings that do not match the world are caught by the ego-pose check
    summary['settings']['objects_per_scene'] += 1
    (old / 'synthetic_world.json').write_text(json.dumps(summary))
    with pytest.raises(ValueError, match='different version of the scene generator'):
        recompute_road_frames(old)
