"""The synthetic nuScenes world: devkit tables, MMDet3D infos, sensor geometry, determinism."""

import json
import re
from pathlib import Path

import mmengine
import numpy as np
import pytest

from mmssl.datasets.synthetic import GROUND, MISS, BoxSet, cast_rays, generate_world, select_scene_names
from mmssl.testing.runs import import_tool

CAMS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')


def _tool(name):
    return import_tool(f'tools/{name}.py', f'_tool_{name}')


@pytest.fixture(scope='module')
def nusc(synthetic_world):
    from nuscenes.nuscenes import NuScenes

    return NuScenes(version=synthetic_world['version'], dataroot=str(synthetic_world['root']), verbose=False)


@pytest.fixture(scope='module')
def infos(synthetic_world):
    return {split: mmengine.load(synthetic_world[f'{split}_info']) for split in ('train', 'val')}


def test_devkit_tables_and_official_splits(synthetic_world, nusc):
    from nuscenes.utils.splits import create_splits_scenes

    splits = create_splits_scenes()
    names = sorted(s['name'] for s in nusc.scene)
    assert names == ['scene-0061', 'scene-0103']
    assert 'scene-0061' in splits['mini_train'] and 'scene-0103' in splits['mini_val']
    assert len(nusc.sample) == 8
    # Per scene: 4 keyframes x (1 LiDAR + 2 sweeps + 6 cameras).
    assert len(nusc.sample_data) == 2 * 4 * (3 + 6)
    hex32 = re.compile(r'^[0-9a-f]{32}$')
    for table in (
        'scene',
        'sample',
        'sample_data',
        'sample_annotation',
        'instance',
        'ego_pose',
        'calibrated_sensor',
        'log',
        'map',
        'category',
        'attribute',
        'sensor',
    ):
        assert all(hex32.match(r['token']) for r in getattr(nusc, table)), table
    for sample in nusc.sample:
        assert set(sample['data']) == {'LIDAR_TOP', *CAMS}
        if sample['next']:
            assert nusc.get('sample', sample['next'])['timestamp'] - sample['timestamp'] == 500_000
    sweeps = [sd for sd in nusc.sample_data if not sd['is_key_frame']]
    assert len(sweeps) == 16
    assert all(sd['filename'].startswith('sweeps/LIDAR_TOP/') for sd in sweeps)
    for sd in nusc.sample_data:
        assert (Path(synthetic_world['root']) / sd['filename']).is_file()
        if sd['prev']:
            assert nusc.get('sample_data', sd['prev'])['timestamp'] < sd['timestamp']
    for rec in nusc.ego_pose + nusc.calibrated_sensor + nusc.sample_annotation:
        assert np.isclose(np.linalg.norm(rec['rotation']), 1.0)
    cam = [c for c in nusc.calibrated_sensor if c['camera_intrinsic']][0]
    assert np.allclose(np.array(cam['camera_intrinsic'])[2], [0, 0, 1])
    assert {c['name'] for c in nusc.category} >= {'vehicle.car', 'human.pedestrian.adult'}
    assert all(log['map_token'] for log in nusc.log)


def test_infos_follow_mmdet3d_v11(synthetic_world, infos):
    for split in ('train', 'val'):
        data = infos[split]
        assert data['metainfo']['version'] == 'v1.0-mini'
        assert data['metainfo']['info_version'] == '1.1'
        assert len(data['data_list']) == 4
    first = infos['train']['data_list'][0]
    assert set(first['images']) == set(CAMS)
    for img in first['images'].values():
        assert np.array(img['cam2img']).shape == (3, 3)
        assert np.array(img['lidar2cam']).shape == (4, 4)
        assert (
            Path(synthetic_world['root']) / 'samples' / img['img_path'].split('__')[1] / img['img_path']
        ).is_file()
    assert first['lidar_points']['num_pts_feats'] == 5
    # The first keyframe has its 2 sweeps; later ones chain back through earlier keyframes.
    assert [len(d['lidar_sweeps']) for d in infos['train']['data_list']] == [2, 5, 8, 10]
    labels = [i['bbox_label_3d'] for d in infos['train']['data_list'] for i in d['instances']]
    assert len(labels) > 20 and min(labels) >= 0 and max(labels) <= 9


def _load_points(root, info):
    name = info['lidar_points']['lidar_path']
    pts = np.fromfile(Path(root) / 'samples' / 'LIDAR_TOP' / name, dtype=np.float32)
    return pts.reshape(-1, 5)


def _bracket_fraction(points, img_info, depth, shift_deg=0.0):
    """Fraction of points projecting into the image whose camera-z lies within the depth range
    of the 4 pixels around the projection (exact for planar surfaces: 1/z is affine in u, v)."""
    lidar2cam = np.array(img_info['lidar2cam'])
    if shift_deg:
        c, s = np.cos(np.deg2rad(shift_deg)), np.sin(np.deg2rad(shift_deg))
        lidar2cam = np.array([[c, 0, s, 0], [0, 1, 0, 0], [-s, 0, c, 0], [0, 0, 0, 1]]) @ lidar2cam
    cam2img = np.eye(4)
    cam2img[:3, :3] = np.array(img_info['cam2img'])
    lidar2img = cam2img @ lidar2cam
    hom = np.concatenate([points[:, :3], np.ones((len(points), 1))], axis=1) @ lidar2img.T
    z = hom[:, 2]
    h, w = depth.shape
    front = z > 0.5
    u, v, z = hom[front, 0] / z[front], hom[front, 1] / z[front], z[front]
    inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
    u, v, z = u[inside], v[inside], z[inside]
    u0, v0 = np.minimum(np.floor(u).astype(int), w - 2), np.minimum(np.floor(v).astype(int), h - 2)
    corners = np.stack([depth[v0, u0], depth[v0, u0 + 1], depth[v0 + 1, u0], depth[v0 + 1, u0 + 1]], axis=1)
    valid = (corners > 0).all(axis=1)
    lo, hi = corners.min(axis=1), corners.max(axis=1)
    ok = (z >= lo * (1 - 1e-4) - 1e-3) & (z <= hi * (1 + 1e-4) + 1e-3) & valid
    return ok.mean(), len(z)


def test_lidar_points_land_on_rendered_surfaces(synthetic_world, infos):
    """cam2img @ lidar2cam of the infos maps each LiDAR point onto the camera surface it hit."""
    root = Path(synthetic_world['root'])
    totals = []
    for info in infos['train']['data_list'][:2] + infos['val']['data_list'][:1]:
        points = _load_points(root, info)
        for cam, img_info in info['images'].items():
            depth = np.load(root / 'depth' / cam / (Path(img_info['img_path']).stem + '.npy'))
            frac, count = _bracket_fraction(points, img_info, depth)
            if count < 50:
                continue
            totals.append(count)
            # Misses: occlusion edges and camera-LiDAR parallax only.
            assert frac > 0.85, (cam, frac, count)
            wrong, _ = _bracket_fraction(points, img_info, depth, shift_deg=1.0)
            assert wrong < frac - 0.2, (cam, frac, wrong)
    assert len(totals) >= 12 and sum(totals) > 3000


def test_images_are_rendered_jpegs(synthetic_world, infos):
    import cv2

    root = Path(synthetic_world['root'])
    info = infos['train']['data_list'][0]
    for cam, img_info in info['images'].items():
        img = cv2.imread(str(root / 'samples' / cam / img_info['img_path']))
        assert img.shape == (90, 160, 3)
        assert img.std() > 10  # textured, not blank


def _global_points(nusc, sample_data_token):
    """(N, 3) points of a LiDAR sample_data in the global frame, read by the devkit."""
    from nuscenes.utils.data_classes import LidarPointCloud
    from pyquaternion import Quaternion

    sd = nusc.get('sample_data', sample_data_token)
    pc = LidarPointCloud.from_file(str(Path(nusc.dataroot) / sd['filename']))
    for record in (
        nusc.get('calibrated_sensor', sd['calibrated_sensor_token']),
        nusc.get('ego_pose', sd['ego_pose_token']),
    ):
        pc.rotate(Quaternion(record['rotation']).rotation_matrix)
        pc.translate(np.array(record['translation']))
    return pc.points[:3].T


def test_num_lidar_pts_is_the_devkit_count_and_boxes_enclose_their_points(nusc):
    """``num_lidar_pts`` == the devkit's ``points_in_box`` count (sensor frame, as its tools do),
    for every annotation; and no point off the ground lies within 0.1 m outside an annotated box
    (the boxes enclose their objects' points with a margin, as real annotations do)."""
    from nuscenes.utils.geometry_utils import points_in_box

    from mmssl.datasets.synthetic.capture import ANNOTATION_MARGIN

    assert ANNOTATION_MARGIN == pytest.approx(0.05)
    checked = with_points = 0
    for sample in nusc.sample:
        lidar = sample['data']['LIDAR_TOP']
        path, boxes, _ = nusc.get_sample_data(lidar)
        from nuscenes.utils.data_classes import LidarPointCloud

        sensor_pts = LidarPointCloud.from_file(path).points[:3]
        global_pts = _global_points(nusc, lidar)
        off_ground = global_pts[:, 2] > 0.01
        for box in boxes:
            ann = nusc.get('sample_annotation', box.token)
            assert ann['num_lidar_pts'] == int(points_in_box(box, sensor_pts).sum()), ann['token']
            gbox = nusc.get_box(box.token)
            inside = points_in_box(gbox, global_pts.T) & off_ground
            grown = gbox.copy()
            grown.wlh = gbox.wlh + 0.2
            assert int((points_in_box(grown, global_pts.T) & off_ground).sum()) == int(inside.sum()), ann[
                'token'
            ]
            checked += 1
            with_points += ann['num_lidar_pts'] > 0
    assert checked == len(nusc.sample_annotation) and with_points > 30


def test_infos_num_lidar_pts_follow_the_tables(nusc, infos):
    """MMDet3D's converter copies ``num_lidar_pts``; ``bbox_3d_isvalid`` is ``num_lidar_pts > 0``."""
    by_sample = {s['token']: s for s in nusc.sample}
    for info in infos['train']['data_list'] + infos['val']['data_list']:
        anns = [nusc.get('sample_annotation', t) for t in by_sample[info['token']]['anns']]
        counts = sorted(a['num_lidar_pts'] for a in anns)
        assert sorted(inst['num_lidar_pts'] for inst in info['instances']) == counts
        for inst in info['instances']:
            assert inst['bbox_3d_isvalid'] == (inst['num_lidar_pts'] > 0)


def test_velocities_are_constant_and_consistent(nusc, infos):
    moving = 0
    for inst in nusc.instance:
        anns = []
        token = inst['first_annotation_token']
        while token:
            anns.append(nusc.get('sample_annotation', token))
            token = anns[-1]['next']
        assert len(anns) == inst['nbr_annotations']
        if len(anns) < 3:
            continue
        pos = np.array([a['translation'] for a in anns])
        vel = np.diff(pos, axis=0) / 0.5
        assert np.allclose(vel, vel[0], atol=1e-6)
        assert np.allclose(nusc.box_velocity(anns[1]['token']), vel[0], atol=1e-6)
        moving += np.linalg.norm(vel[0]) > 0.5
    assert moving >= 3
    speeds = [
        np.linalg.norm(i['velocity'])
        for d in infos['train']['data_list']
        for i in d['instances']
        if np.all(np.isfinite(i['velocity']))
    ]
    assert max(speeds) > 1.0


def test_cast_rays_closed_form():
    boxes = BoxSet(
        center=np.array([[10.0, 0.0, 1.0], [20.0, 0.0, 1.0]]),
        yaw=np.array([0.0, np.pi / 4]),
        half=np.array([[1.0, 1.0, 1.0]] * 2),
    )
    dirs = np.array(
        [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [1.0, 0.0, -1.0] / np.sqrt(2), [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    )
    hits = cast_rays(np.array([0.0, 0.0, 1.0]), dirs, boxes)
    assert np.allclose(hits.depth[[0, 2]], [9.0, np.sqrt(2)])
    assert hits.obj.tolist() == [0, MISS, GROUND, MISS, MISS]
    assert np.allclose(hits.normal[0], [-1, 0, 0]) and np.allclose(hits.normal[2], [0, 0, 1])
    # Rotated box seen past the first one: ray at height 1.5 passes over nothing else; the
    # 45-degree box's edge faces the ray at distance 20 - sqrt(2).
    hits = cast_rays(np.array([15.0, 0.0, 1.0]), np.array([[1.0, 0.0, 0.0]]), boxes)
    assert np.isclose(hits.depth[0], 5.0 - np.sqrt(2)) and hits.obj[0] == 1


def test_cast_rays_matches_reference_loop():
    rng = np.random.default_rng(3)
    m = 30
    boxes = BoxSet(
        center=np.concatenate([rng.uniform(-30, 30, (m, 2)), np.full((m, 1), 1.0)], 1),
        yaw=rng.uniform(-np.pi, np.pi, m),
        half=rng.uniform(0.3, 3.0, (m, 3)),
    )
    boxes.center[:, 2] = boxes.half[:, 2]
    origin = np.array([0.5, 0.3, 40.0])  # above all boxes
    targets = np.concatenate([rng.uniform(-32, 32, (2000, 2)), rng.uniform(0, 3, (2000, 1))], 1)
    dirs = np.concatenate([targets - origin, rng.normal(size=(1000, 3))])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    hits = cast_rays(origin, dirs, boxes, chunk=256)
    ref = np.full(len(dirs), np.inf)
    for j in range(m):  # one box at a time, one ray at a time
        c, s = np.cos(boxes.yaw[j]), np.sin(boxes.yaw[j])
        rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
        o = rot @ (origin - boxes.center[j])
        for i, d in enumerate(dirs):
            dl = rot @ d
            with np.errstate(divide='ignore'):
                t1, t2 = (-boxes.half[j] - o) / dl, (boxes.half[j] - o) / dl
            tn, tf = np.minimum(t1, t2).max(), np.maximum(t1, t2).min()
            if tf >= tn > 0:
                ref[i] = min(ref[i], tn)
    ground = np.where(dirs[:, 2] < 0, -origin[2] / dirs[:, 2], np.inf)
    ref = np.minimum(ref, ground)
    assert np.allclose(hits.depth, ref)
    assert (hits.obj >= 0).sum() > 200 and (hits.obj == GROUND).sum() > 300


def test_scene_names_and_versions():
    from nuscenes.utils import splits

    train, val = select_scene_names(120, 'v1.0-trainval', val_ratio=0.25)
    assert len(train) == 90 and len(val) == 30
    assert set(train) <= set(splits.train) and set(val) <= set(splits.val)
    assert select_scene_names(10, 'v1.0-mini') == (splits.mini_train, splits.mini_val)
    assert select_scene_names(1, 'v1.0-mini') == (['scene-0061'], [])
    with pytest.raises(ValueError, match='v1.0-trainval'):
        select_scene_names(11, 'v1.0-mini')


def _digest(root):
    import hashlib

    out = {}
    for path in sorted(Path(root).rglob('*')):
        if path.is_file() and path.name not in ('synthetic_world.json', 'WORLD_COMPLETE.json'):
            out[str(path.relative_to(root))] = hashlib.md5(path.read_bytes()).hexdigest()
    return out


def test_generation_is_deterministic_and_tools_run(tmp_path):
    kwargs = dict(
        scenes=1,
        samples_per_scene=2,
        img_size=(24, 40),
        lidar_azimuth_steps=90,
        objects_per_scene=10,
        progress=False,
    )
    generate_world(tmp_path / 'a', seed=5, workers=1, **kwargs)
    generate_world(tmp_path / 'b', seed=5, workers=1, **kwargs)
    generate_world(tmp_path / 'c', seed=6, workers=1, **kwargs)
    a, b, c = _digest(tmp_path / 'a'), _digest(tmp_path / 'b'), _digest(tmp_path / 'c')
    assert a == b and len(a) > 20
    assert a != c
    # The CLI tools: generator then MMDet3D's converter into a separate folder.
    _tool('create_synthetic_nuscenes').main(
        [
            '--out',
            str(tmp_path / 'd'),
            '--scenes',
            '1',
            '--samples-per-scene',
            '2',
            '--seed',
            '5',
            '--img-size',
            '24',
            '40',
            '--lidar-azimuth-steps',
            '90',
            '--objects-per-scene',
            '10',
            '--skip-infos',
        ]
    )
    assert _digest(tmp_path / 'd') == a
    _tool('create_data').main(
        [
            'nuscenes',
            '--root-path',
            str(tmp_path / 'd'),
            '--out-dir',
            str(tmp_path / 'infos'),
            '--version',
            'v1.0-mini',
        ]
    )
    train = mmengine.load(tmp_path / 'infos' / 'nuscenes_infos_train.pkl')
    assert len(train['data_list']) == 2
    assert not (tmp_path / 'd' / 'nuscenes_infos_train.pkl').exists()
    summary = json.loads((tmp_path / 'd' / 'synthetic_world.json').read_text())
    assert summary['train_scenes'] == ['scene-0061'] and summary['samples'] == 2


def test_parallel_generation_matches_serial(tmp_path):
    kwargs = dict(
        scenes=2,
        samples_per_scene=1,
        seed=2,
        img_size=(16, 24),
        sweeps_per_sample=0,
        lidar_azimuth_steps=60,
        objects_per_scene=5,
        progress=False,
    )
    generate_world(tmp_path / 'serial', workers=1, **kwargs)
    generate_world(tmp_path / 'parallel', workers=2, **kwargs)
    assert _digest(tmp_path / 'serial') == _digest(tmp_path / 'parallel')


def test_devkit_detection_eval_scores_perfect_predictions(synthetic_world, nusc, tmp_path):
    """The devkit's detection evaluation runs on the world's mini_val split: boxes with LiDAR
    points given back as predictions (with their attributes and velocities) score mAP = NDS = 1."""
    from nuscenes.eval.detection.config import config_factory
    from nuscenes.eval.detection.evaluate import DetectionEval
    from nuscenes.eval.detection.utils import category_to_detection_name
    from nuscenes.utils.splits import create_splits_scenes

    val = set(create_splits_scenes()['mini_val'])
    results = {}
    for sample in nusc.sample:
        if nusc.get('scene', sample['scene_token'])['name'] not in val:
            continue
        boxes = []
        for token in sample['anns']:
            ann = nusc.get('sample_annotation', token)
            if ann['num_lidar_pts'] == 0:
                continue
            vel = np.nan_to_num(nusc.box_velocity(token)[:2]).tolist()
            attr = (
                nusc.get('attribute', ann['attribute_tokens'][0])['name'] if ann['attribute_tokens'] else ''
            )
            boxes.append(
                dict(
                    sample_token=sample['token'],
                    translation=ann['translation'],
                    size=ann['size'],
                    rotation=ann['rotation'],
                    velocity=vel,
                    detection_name=category_to_detection_name(ann['category_name']),
                    detection_score=0.9,
                    attribute_name=attr,
                )
            )
        results[sample['token']] = boxes
    assert len(results) == 4
    meta = dict(use_camera=False, use_lidar=True, use_radar=False, use_map=False, use_external=False)
    (tmp_path / 'res.json').write_text(json.dumps(dict(meta=meta, results=results)))
    evaluator = DetectionEval(
        nusc,
        config_factory('detection_cvpr_2019'),
        str(tmp_path / 'res.json'),
        'mini_val',
        str(tmp_path),
        verbose=False,
    )
    metrics = evaluator.evaluate()[0].serialize()
    assert metrics['mean_ap'] == pytest.approx(1.0)
    assert metrics['nd_score'] == pytest.approx(1.0)
