"""LiDAR semantic labels of the synthetic world (nuScenes-lidarseg format) and their info keys."""

import copy
import os.path as osp
from pathlib import Path

import mmengine
import numpy as np
import pytest

from mmssl.datasets import BadSampleError
from mmssl.datasets.info_validation import check_sample_info
from mmssl.datasets.lidarseg import (
    NUSCENES_LIDARSEG_16_CLASSES,
    NUSCENES_LIDARSEG_16_METAINFO,
    NUSCENES_LIDARSEG_CATEGORIES,
    NUSCENES_LIDARSEG_INDEX,
    map_nuscenes_lidarseg_to_16,
    read_nuscenes_lidarseg,
)
from mmssl.datasets.synthetic import GROUND, MISS, RayHits
from mmssl.datasets.synthetic.point_labels import WORLD_LIDARSEG_INDICES, lidarseg_labels

SEED = 3
SAMPLES = 2
SWEEPS = 2  # generate_world's default
OBJECTS = 30
FLAT = {NUSCENES_LIDARSEG_INDEX[n] for n in ('flat.driveable_surface', 'flat.sidewalk', 'flat.terrain')}


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """One scene, 2 keyframes, 24 x 40 images, the default LiDAR; infos by MMDet3D's converter."""
    from nuscenes.nuscenes import NuScenes

    from mmssl.datasets.synthetic import create_infos, generate_world

    root = tmp_path_factory.mktemp('lidarseg_world')
    summary = generate_world(
        root,
        scenes=1,
        samples_per_scene=SAMPLES,
        seed=SEED,
        img_size=(24, 40),
        objects_per_scene=OBJECTS,
        workers=1,
        progress=False,
    )
    infos = create_infos(root, summary['version'], quiet=True)
    nusc = NuScenes(version=summary['version'], dataroot=str(root), verbose=False)
    return dict(root=root, version=summary['version'], nusc=nusc, train_info=infos['train'])


def _keyframes(nusc):
    """(sample, LIDAR_TOP sample_data token, (N, 3) points in the global frame) per keyframe."""
    from nuscenes.utils.data_classes import LidarPointCloud
    from pyquaternion import Quaternion

    for sample in nusc.sample:
        token = sample['data']['LIDAR_TOP']
        sd = nusc.get('sample_data', token)
        pc = LidarPointCloud.from_file(osp.join(nusc.dataroot, sd['filename']))
        for record in (
            nusc.get('calibrated_sensor', sd['calibrated_sensor_token']),
            nusc.get('ego_pose', sd['ego_pose_token']),
        ):
            pc.rotate(Quaternion(record['rotation']).rotation_matrix)
            pc.translate(np.array(record['translation']))
        yield sample, token, pc.points[:3].T


def _labels(nusc, token, num_points):
    return read_nuscenes_lidarseg(
        osp.join(nusc.dataroot, nusc.get('lidarseg', token)['filename']), num_points, sample=token
    )


def test_devkit_loads_the_lidarseg_tables(world):
    from nuscenes.utils.data_io import load_bin_file

    nusc = world['nusc']
    assert 'lidarseg' in nusc.table_names
    assert nusc.lidarseg_idx2name_mapping == dict(enumerate(NUSCENES_LIDARSEG_CATEGORIES))
    keyframes = [sd for sd in nusc.sample_data if sd['is_key_frame'] and sd['channel'] == 'LIDAR_TOP']
    assert len(keyframes) == SAMPLES and len(nusc.lidarseg) == SAMPLES
    for sd in keyframes:
        record = nusc.get('lidarseg', sd['token'])
        assert record['sample_data_token'] == sd['token']
        assert record['filename'] == f'lidarseg/{world["version"]}/{sd["token"]}_lidarseg.bin'
        points = np.fromfile(Path(world['root']) / sd['filename'], dtype=np.float32).reshape(-1, 5)
        labels = load_bin_file(osp.join(nusc.dataroot, record['filename']))
        assert labels.dtype == np.uint8 and len(labels) == len(points) > 10_000
    # Non-keyframe sweeps have no labels, as in nuScenes.
    assert len(list((Path(world['root']) / 'lidarseg' / world['version']).iterdir())) == SAMPLES


def _world_boxes(t: float):
    """Centres (M, 3), yaws (M,), half extents (M, 3) and lidarseg indices (M,) of all boxes of the
    world's scene at time ``t``, buildings included (the layout recomputed from its settings)."""
    from mmssl.datasets.synthetic.capture import scene_layout
    from mmssl.datasets.synthetic.scene import CLASS_SPECS

    _, layout = scene_layout(SEED, 0, SAMPLES, SWEEPS, OBJECTS)
    center, yaw = layout.to_global(t)
    categories = [spec.category for spec in CLASS_SPECS] + ['static.manmade']
    index = np.array([NUSCENES_LIDARSEG_INDEX[categories[c]] for c in layout.cls])
    return center, yaw, layout.wlh[:, [1, 0, 2]] / 2, index


def _box_of_points(pts, center, yaw, half, tol=1e-3):
    """(N,) index of the box each point lies in (on its surface, within ``tol``), -1 for none."""
    rel = pts[:, None, :] - center[None]  # (N, M, 3)
    c, s = np.cos(yaw)[None], np.sin(yaw)[None]
    local = np.stack([c * rel[..., 0] + s * rel[..., 1], -s * rel[..., 0] + c * rel[..., 1], rel[..., 2]], -1)
    inside = (np.abs(local) <= half[None] + tol).all(-1)
    assert inside.sum(1).max() <= 1  # boxes never overlap
    return np.where(inside.any(1), inside.argmax(1), -1)


def test_labels_match_what_each_point_hit(world):
    """Every point lies on a box of the scene (recomputed layout) and carries its class's
    category (buildings static.manmade), or on the ground and carries the flat.* label of its
    band of the road cross-section (road frame from maps/road_frames.json); points the devkit
    finds in an annotated box carry the annotation's category."""
    from nuscenes.utils.geometry_utils import points_in_box

    from mmssl.datasets.synthetic.maps import load_road_frames
    from mmssl.datasets.synthetic.road import PARKING_OUTER, WALKWAY_OUTER, to_road_frame

    nusc = world['nusc']
    frames = load_road_frames(world['root'])
    first = min(s['timestamp'] for s in nusc.sample)
    annotated = on_box = 0
    seen = set()
    for sample, token, pts in _keyframes(nusc):
        labels = _labels(nusc, token, len(pts))
        seen |= set(np.unique(labels).tolist())
        center, yaw, half, box_index = _world_boxes((sample['timestamp'] - first) * 1e-6)
        box = _box_of_points(pts, center, yaw, half)
        on = box >= 0
        assert np.array_equal(labels[on], box_index[box[on]])
        on_box += int(on.sum())
        # The others hit the ground: a flat label by |y| in the road frame.
        ground = ~on
        assert np.abs(pts[ground, 2]).max() < 1e-3
        origin, road_yaw = frames.frame_of(sample['token'])
        abs_y = np.abs(to_road_frame(pts[ground], origin, road_yaw)[:, 1])
        expected = np.where(
            abs_y < PARKING_OUTER,
            NUSCENES_LIDARSEG_INDEX['flat.driveable_surface'],
            np.where(
                abs_y < WALKWAY_OUTER,
                NUSCENES_LIDARSEG_INDEX['flat.sidewalk'],
                NUSCENES_LIDARSEG_INDEX['flat.terrain'],
            ),
        )
        near_edge = (np.abs(abs_y - PARKING_OUTER) < 1e-3) | (np.abs(abs_y - WALKWAY_OUTER) < 1e-3)
        assert np.array_equal(labels[ground][~near_edge], expected[~near_edge])
        assert all((expected == v).sum() > 50 for v in FLAT)
        # The devkit's view: points in an annotated box (off the ground) carry its category.
        for ann_token in sample['anns']:
            inside = points_in_box(nusc.get_box(ann_token), pts.T) & on
            category = nusc.get('sample_annotation', ann_token)['category_name']
            assert (labels[inside] == NUSCENES_LIDARSEG_INDEX[category]).all(), ann_token
            annotated += int(inside.sum())
    assert annotated > 1000 and on_box > annotated
    assert seen <= set(WORLD_LIDARSEG_INDICES)
    assert {NUSCENES_LIDARSEG_INDEX['static.manmade'], *FLAT} <= seen


def test_world_label_set_and_ground_bands():
    """The categories the world can produce, and the band labels of hand-placed ground hits."""
    from mmssl.datasets.synthetic.scene import SceneLayout

    assert WORLD_LIDARSEG_INDICES == (2, 9, 12, 14, 16, 17, 18, 21, 22, 23, 24, 26, 27, 28)
    yaw = np.pi / 3
    layout = SceneLayout(
        center=np.zeros((2, 3)),
        wlh=np.ones((2, 3)),
        yaw=np.zeros(2),
        velocity=np.zeros((2, 3)),
        cls=np.array([0, 10]),  # a car, a building
        color_scale=np.ones(2),
        ego_speed=0.0,
        road_origin=np.array([100.0, -50.0]),
        road_yaw=yaw,
    )
    road_y = np.array([0.0, -6.9999, 7.0001, 9.4999, -9.5001, 13.4999, 13.5001, -40.0])
    local = np.stack([np.full_like(road_y, 5.0), road_y], axis=1)
    rot = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
    point = np.concatenate([local @ rot.T + layout.road_origin, np.zeros((len(road_y), 1))], axis=1)
    obj = np.array([GROUND] * len(road_y) + [0, 1, MISS])
    point = np.concatenate([point, np.zeros((3, 3))])
    n = len(obj)
    hits = RayHits(np.ones(n), obj, point, np.zeros((n, 3)), np.zeros(n, int), np.zeros((n, 3)))
    names = [NUSCENES_LIDARSEG_CATEGORIES[i] for i in lidarseg_labels(hits, layout)]
    drive, walk, grass = 'flat.driveable_surface', 'flat.sidewalk', 'flat.terrain'
    assert names == [drive] * 4 + [walk, walk, grass, grass, 'vehicle.car', 'static.manmade', 'noise']


def test_infos_carry_the_mask_path_and_mmdet3d_loads_it(world):
    from mmssl.registry import TRANSFORMS

    nusc = world['nusc']
    data = mmengine.load(world['train_info'])
    assert len(data['data_list']) == SAMPLES
    load = TRANSFORMS.build(
        dict(
            type='mmdet3d.LoadAnnotations3D',
            with_bbox_3d=False,
            with_label_3d=False,
            with_seg_3d=True,
            seg_3d_dtype='np.uint8',
        )
    )
    prefix = Path(world['root']) / 'lidarseg' / world['version']
    for info in data['data_list']:
        lidar_token = nusc.get('sample', info['token'])['data']['LIDAR_TOP']
        assert info['pts_semantic_mask_path'] == f'{lidar_token}_lidarseg.bin'
        check_sample_info(info, use_lidar=True, use_camera=True)
        points = np.fromfile(
            Path(world['root']) / 'samples' / 'LIDAR_TOP' / info['lidar_points']['lidar_path'],
            dtype=np.float32,
        )
        results = load(dict(pts_semantic_mask_path=str(prefix / info['pts_semantic_mask_path'])))
        mask = results['pts_semantic_mask']
        assert len(mask) == len(points) // 5
        assert np.array_equal(mask, _labels(nusc, lidar_token, len(mask)))
    bad = copy.deepcopy(data['data_list'][0])
    bad['pts_semantic_mask_path'] = ''
    with pytest.raises(BadSampleError, match=f'token={bad["token"]}: info key pts_semantic_mask_path'):
        check_sample_info(bad, use_lidar=True, use_camera=False)


def test_segmentation_dataset_resolves_the_mask_prefix(world):
    """An MMDet3D segmentation dataset with ``data_prefix['pts_semantic_mask']`` reads the masks of
    the world's info file; ``PointSegClassMapping`` maps them to the 16 benchmark classes."""
    from mmdet3d.datasets import SemanticKittiDataset

    class NuScenesLidarSeg(SemanticKittiDataset):  # SemanticKITTI's dict-based label mapping
        METAINFO = dict(
            classes=NUSCENES_LIDARSEG_16_CLASSES,
            palette=[[0, 0, 0]] * 16,
            seg_valid_class_ids=tuple(range(16)),
            seg_all_class_ids=tuple(range(17)),
        )

    pipeline = [
        dict(type='mmdet3d.LoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
        dict(
            type='mmdet3d.LoadAnnotations3D',
            with_bbox_3d=False,
            with_label_3d=False,
            with_seg_3d=True,
            seg_3d_dtype='np.uint8',
        ),
        dict(type='mmdet3d.PointSegClassMapping'),
    ]
    ds = NuScenesLidarSeg(
        data_root=str(world['root']),
        ann_file=osp.basename(world['train_info']),
        metainfo=copy.deepcopy(NUSCENES_LIDARSEG_16_METAINFO),
        data_prefix=dict(pts='samples/LIDAR_TOP', pts_semantic_mask=f'lidarseg/{world["version"]}'),
        pipeline=pipeline,
    )
    assert len(ds) == SAMPLES
    info = ds.get_data_info(0)
    lidar_token = world['nusc'].get('sample', info['token'])['data']['LIDAR_TOP']
    assert info['pts_semantic_mask_path'] == str(
        Path(world['root']) / 'lidarseg' / world['version'] / f'{lidar_token}_lidarseg.bin'
    )
    out = ds[0]
    raw = _labels(world['nusc'], lidar_token, len(out['points']))
    assert np.array_equal(out['pts_semantic_mask'], map_nuscenes_lidarseg_to_16(raw))
    assert {int(v) for v in np.unique(out['pts_semantic_mask'])} >= {3, 10, 12, 13, 14}


def test_lidarseg_false_leaves_only_the_labels_out(tmp_path):
    """``lidarseg=False`` writes every other file byte-identically, and no lidarseg table/files."""
    import hashlib

    from nuscenes.nuscenes import NuScenes

    from mmssl.datasets.synthetic import generate_world

    kwargs = dict(
        scenes=1,
        samples_per_scene=1,
        seed=1,
        img_size=(16, 24),
        sweeps_per_sample=0,
        lidar_azimuth_steps=60,
        objects_per_scene=5,
        workers=1,
        progress=False,
    )
    generate_world(tmp_path / 'with', **kwargs)
    generate_world(tmp_path / 'without', lidarseg=False, **kwargs)

    def digest(root):
        return {
            str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*'))
            if p.is_file() and p.name != 'synthetic_world.json'
        }

    with_labels, without = digest(tmp_path / 'with'), digest(tmp_path / 'without')
    extra = sorted(set(with_labels) - set(without))
    assert (
        len(extra) == 2
        and extra[0].startswith('lidarseg/v1.0-mini/')
        and extra[1] == 'v1.0-mini/lidarseg.json'
    )
    assert {k: v for k, v in with_labels.items() if k not in extra} == without
    nusc = NuScenes(version='v1.0-mini', dataroot=str(tmp_path / 'without'), verbose=False)
    assert 'lidarseg' not in nusc.table_names and len(nusc.category) == 32
