"""LargeAD's frame pairs: the pairing rule on the synthetic world's tables, the partner in the
sample's frame (a static object stays put), joint ground removal + HDBSCAN segments, packing."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from pyquaternion import Quaternion

from mmssl.datasets.point_segments import NO_SEGMENT, cluster_points, fit_ground_plane, segment_frames
from mmssl.datasets.temporal_pairs import TemporalPairIndex, pair_token, read_sample_table
from mmssl.datasets.transforms.temporal import lidar2global, transform_xyz
from mmssl.registry import DATASETS, TRANSFORMS

PREFIX = dict(pts='samples/LIDAR_TOP', sweeps='sweeps/LIDAR_TOP')


def scene_order(world) -> dict[str, list[str]]:
    """``scene token -> keyframe tokens in time order`` from the world's tables."""
    root = Path(world['root']) / world['version']
    samples = {s['token']: s for s in json.loads((root / 'sample.json').read_text())}
    order = {}
    for scene in json.loads((root / 'scene.json').read_text()):
        tokens, token = [], scene['first_sample_token']
        while token:
            tokens.append(token)
            token = samples[token]['next']
        order[scene['token']] = tokens
    return order


def test_pairs_follow_the_scene_and_stay_in_the_info_file(synthetic_world):
    index = TemporalPairIndex.from_info_file(
        synthetic_world['train_info'], data_root=synthetic_world['root'], data_prefix=PREFIX
    )
    order = scene_order(synthetic_world)
    tokens = next(t for t in order.values() if t[0] in index.infos)
    assert len(index) == len(tokens) == 4
    pairs = [index.pair(t) for t in tokens]
    assert [(p.partner, p.offset) for p in pairs] == [
        (tokens[1], 1),
        (tokens[2], 1),
        (tokens[3], 1),
        (tokens[2], -1),
    ]
    table = index.table
    assert all(table[p.partner]['scene_token'] == table[p.token]['scene_token'] for p in pairs)
    # a partner two keyframes on; the last two look back
    two = TemporalPairIndex.from_info_file(synthetic_world['train_info'], synthetic_world['root'], n=2)
    assert [two.pair(t).offset for t in tokens] == [2, 2, -2, -2]
    # a subset holding one keyframe of the scene pairs it with itself, or raises
    assert pair_token(tokens[1], table, {tokens[1]}).offset == 0
    with pytest.raises(ValueError, match=f'sample {tokens[1]}: scene .* no keyframe 1 before or after'):
        pair_token(tokens[1], table, {tokens[1]}, single_frame='raise')
    # the partner may not be outside the info file even when the scene continues there
    assert pair_token(tokens[1], table, {tokens[1], tokens[0]}).partner == tokens[0]


def world_version(world) -> str:
    return world['version']


def test_sample_table_errors_name_the_file(tmp_path, synthetic_world):
    bad = tmp_path / 'sample.json'
    bad.write_text(json.dumps([{'token': 'a', 'scene_token': 's', 'prev': ''}]))
    with pytest.raises(ValueError, match=r"sample.json: record 0 lacks \['next'\]"):
        read_sample_table(bad)
    bad.write_text('{not json')
    with pytest.raises(ValueError, match='not valid JSON'):
        read_sample_table(bad)
    with pytest.raises(
        FileNotFoundError, match=f'{world_version(synthetic_world)}/sample.json does not exist'
    ):
        TemporalPairIndex.from_info_file(synthetic_world['train_info'], data_root=tmp_path)  # no table
    with pytest.raises(ValueError, match='n must be >= 1'):
        TemporalPairIndex.from_info_file(synthetic_world['train_info'], n=0)
    with pytest.raises(FileNotFoundError, match='missing.pkl does not exist'):
        TemporalPairIndex.from_info_file(tmp_path / 'missing.pkl')


def test_ground_plane_is_recovered_and_blobs_are_clustered():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-30, 30, size=(4000, 2))
    ground = np.c_[xy, 0.05 * xy[:, 0] - 1.8 + rng.normal(0, 0.02, len(xy))]  # tilted 2.9 deg
    blob_a = rng.normal([10, 5, 0], 0.3, size=(200, 3))
    blob_b = rng.normal([-12, -8, 0.5], 0.3, size=(150, 3))
    xyz = np.concatenate([ground, blob_a, blob_b])
    plane, is_ground = fit_ground_plane(xyz, seed=3)
    normal = np.array([-0.05, 0.0, 1.0]) / np.linalg.norm([-0.05, 0.0, 1.0])
    np.testing.assert_allclose(plane[:3], normal, atol=2e-3)
    np.testing.assert_allclose(plane[3], 1.8 * normal[2], atol=1e-2)
    assert is_ground[:4000].all() and not is_ground[4000:].any()
    ids = cluster_points(xyz[4000:])
    assert len(set(ids[:200])) == 1 and len(set(ids[200:])) == 1 and ids[0] != ids[200] and ids.min() >= 0
    # a wall (no plane within 15 deg of the vertical) is no ground
    wall = np.c_[rng.uniform(-5, 5, 500), np.zeros(500), rng.uniform(0, 3, 500)]
    assert not fit_ground_plane(wall)[1].any()
    # two blobs seen in two frames: one id per blob in both;
    frames, stats = segment_frames(
        [
            np.r_[ground[:2000], blob_a[:100], blob_b[:75]],
            np.r_[ground[2000:], blob_a[100:], blob_b[75:], [[0, 0, 9]]],
        ]
    )
    assert (frames[0][:2000] == NO_SEGMENT).all() and (frames[1][:2000] == NO_SEGMENT).all()
    a0, b0, a1, b1 = frames[0][2000:2100], frames[0][2100:], frames[1][2000:2100], frames[1][2100:2175]
    assert len({*a0, *a1}) == 1 and len({*b0, *b1}) == 1 and a0[0] != b0[0] and min(a0[0], b0[0]) >= 0
    assert stats['segments'] == 2 and 0.9 < stats['ground_share'] < 0.93


def static_instances(world, token_t: str, token_n: str) -> list[dict]:
    """Annotations of ``token_t`` whose instance stands still until ``token_n`` (>= 30 points in both)."""
    ann = json.loads((Path(world['root']) / world['version'] / 'sample_annotation.json').read_text())
    at_n = {a['instance_token']: a for a in ann if a['sample_token'] == token_n}
    out = []
    for a in ann:
        b = at_n.get(a['instance_token'])
        if (
            a['sample_token'] == token_t
            and b is not None
            and min(a['num_lidar_pts'], b['num_lidar_pts']) >= 30
        ):
            if np.allclose(a['translation'], b['translation'], atol=1e-6):
                out.append(a)
    return out


def in_box(xyz_global: np.ndarray, ann: dict, margin: float = 0.1) -> np.ndarray:
    """``(N,)`` bool: points inside an annotation's box (global coordinates)."""
    rot = Quaternion(ann['rotation']).rotation_matrix
    local = (xyz_global - np.asarray(ann['translation'])) @ rot  # box frame: x along the length
    w, length, h = ann['size']
    half = np.array([length, w, h]) / 2 + margin
    return (np.abs(local) <= half).all(1)


def pipeline_results(world, pipeline: list[dict], index: int = 0) -> dict:
    ds = DATASETS.build(
        dict(
            type='NuScenesSSLDataset',
            data_root=str(world['root']),
            ann_file=str(world['train_info']),
            data_prefix=PREFIX,
            pipeline=[],
            modality=dict(use_lidar=True, use_camera=False),
            with_label=False,
        )
    )
    results = ds[index]
    for t in pipeline:
        results = TRANSFORMS.build(t)(results)
    return results


def temporal_pipeline(world, aug: bool) -> list[dict]:
    steps = [
        dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
        dict(type='LoadTemporalFrame', ann_file=str(world['train_info']), data_root=str(world['root'])),
    ]
    if aug:
        steps += [
            dict(
                type='SSLGlobalRotScaleTrans',
                rot_range=[0.7, 0.7],
                scale_ratio_range=[1.05, 1.05],
                translation_std=[0, 0, 0],
            ),
            dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=1.0),
        ]
    return steps + [dict(type='TemporalSegments')]


def test_a_static_object_stays_put_and_keeps_its_segment(synthetic_world):
    results = pipeline_results(synthetic_world, temporal_pipeline(synthetic_world, aug=False))
    assert results['temporal_offset'] == 1
    token, partner = results['token'], results['temporal_token']
    to_global = lidar2global(results, 'test')
    xyz_t = transform_xyz(to_global, results['points'].tensor.numpy()[:, :3])
    xyz_n = transform_xyz(to_global, results['temporal_points'][:, :3])  # partner, in the sample's frame
    # the partner's raw file differs from the sample's (the ego moved) ...
    with open(synthetic_world['train_info'], 'rb') as f:
        infos = {r['token']: r for r in pickle.load(f)['data_list']}
    raw = np.fromfile(
        Path(synthetic_world['root']) / PREFIX['pts'] / infos[partner]['lidar_points']['lidar_path'],
        dtype=np.float32,
    ).reshape(-1, 5)
    assert len(raw) == len(xyz_n)
    np.testing.assert_allclose(xyz_n, transform_xyz(lidar2global(infos[partner], 'p'), raw[:, :3]), atol=1e-3)
    statics = static_instances(synthetic_world, token, partner)
    assert statics, 'the world has static objects'
    for ann in statics:
        a, b = in_box(xyz_t, ann), in_box(xyz_n, ann)
        assert a.sum() >= 20 and b.sum() >= 20  # ... yet both frames see the object in its box
        ids_a, ids_b = results['point_segments'][a], results['temporal_point_segments'][b]
        # the box's lowest ring lies within the ground threshold (-1); the rest is one segment
        assert (ids_a >= 0).mean() > 0.6 and (ids_b >= 0).mean() > 0.6
        top = np.bincount(ids_a[ids_a >= 0]).argmax()
        assert (ids_a[ids_a >= 0] == top).mean() > 0.9 and (ids_b[ids_b >= 0] == top).mean() > 0.9
        # the segment's points of the two frames overlap in global coordinates
        lo = np.maximum(xyz_t[a].min(0), xyz_n[b].min(0))
        hi = np.minimum(xyz_t[a].max(0), xyz_n[b].max(0))
        assert (hi[:2] > lo[:2]).all()
    # ground / noise / segments: the synthetic road is flat at the LiDAR's -1.85 m
    assert 0.3 < (results['point_segments'] >= 0).mean() < 0.8
    nx, ny, nz, d = results['temporal_segment_stats']['plane']  # fitted in global coordinates
    origin = to_global[:3, 3]
    ground_z = -(d + nx * origin[0] + ny * origin[1]) / nz
    assert abs(origin[2] - ground_z - 1.846) < 0.05  # the LiDAR's height above the fitted ground


def test_segments_do_not_depend_on_the_augmentation(synthetic_world):
    plain = pipeline_results(synthetic_world, temporal_pipeline(synthetic_world, aug=False))
    aug = pipeline_results(synthetic_world, temporal_pipeline(synthetic_world, aug=True))
    np.testing.assert_array_equal(plain['point_segments'], aug['point_segments'])
    np.testing.assert_array_equal(plain['temporal_point_segments'], aug['temporal_point_segments'])
    mat = np.asarray(aug['lidar_aug_matrix'])
    assert not np.allclose(mat, np.eye(4))
    # both frames reach the model in the augmented coordinates
    np.testing.assert_allclose(
        aug['points'].tensor.numpy()[:, :3],
        transform_xyz(mat, plain['points'].tensor.numpy()[:, :3]),
        atol=1e-3,
    )
    np.testing.assert_allclose(
        aug['temporal_points'][:, :3], transform_xyz(mat, plain['temporal_points'][:, :3]), atol=1e-3
    )
    np.testing.assert_array_equal(aug['temporal_points'][:, 3], plain['temporal_points'][:, 3])


def test_packed_targets_and_bad_input(synthetic_world, tmp_path):
    steps = temporal_pipeline(synthetic_world, aug=False) + [dict(type='PackSSLInputs', keys=['points'])]
    packed = pipeline_results(synthetic_world, steps, index=3)
    sample = packed['data_samples']
    assert sample.metainfo['temporal_offset'] == -1  # the last keyframe looks back
    targets = sample.ssl_targets
    assert targets.point_segments.shape == (len(packed['inputs']['points']),)
    assert targets.temporal_points.shape == (len(targets.temporal_point_segments), 4)
    # a sample missing from the pairing's info file is named
    other = dict(
        type='LoadTemporalFrame',
        ann_file=str(synthetic_world['val_info']),
        data_root=str(synthetic_world['root']),
    )
    with pytest.raises(ValueError, match=r'sample sample_idx=0 token=.*not in the info file'):
        pipeline_results(synthetic_world, [temporal_pipeline(synthetic_world, False)[0], other])
    with pytest.raises(ValueError, match='runs after the points and LoadTemporalFrame'):
        pipeline_results(
            synthetic_world, [temporal_pipeline(synthetic_world, False)[0], dict(type='TemporalSegments')]
        )


def test_the_dataset_binds_its_own_info_file(synthetic_world, monkeypatch):
    """``LoadTemporalFrame()`` without paths takes the dataset's (relative data_root included)."""
    root = Path(synthetic_world['root'])
    monkeypatch.chdir(root.parent)
    steps = [
        dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
        dict(type='LoadTemporalFrame'),
    ]
    ds = DATASETS.build(
        dict(
            type='NuScenesSSLDataset',
            data_root=f'{root.name}/',
            ann_file=Path(synthetic_world['val_info']).name,
            data_prefix=PREFIX,
            pipeline=steps,
            modality=dict(use_lidar=True, use_camera=False),
            with_label=False,
        )
    )
    index = ds.pipeline.transforms[1].index
    assert Path(index.ann_file).resolve() == Path(synthetic_world['val_info']).resolve()
    # the partners are the dataset's own parsed records (paths joined by MMDet3D)
    first = ds.get_data_info(0)
    assert index.infos[first['token']]['lidar_points'] == first['lidar_points']
    results = ds[1]
    assert results['temporal_offset'] in (1, -1) and results['temporal_token'] in index.infos
    assert results['temporal_token'] != results['token']


def test_the_partner_frame_is_normalised_with_the_sample_s_source(synthetic_world):
    stats = {'world': {'columns': [3], 'mean': [100.0], 'std': [50.0]}}
    steps = temporal_pipeline(synthetic_world, aug=False)[:2]
    raw = pipeline_results(synthetic_world, steps)
    normed = pipeline_results(
        synthetic_world,
        steps
        + [
            dict(type='AddSourceInfo', index=0, name='world'),
            dict(type='PerSourceNormalizePoints', stats=stats, columns=[3]),
        ],
    )
    for key in ('points', 'temporal_points'):
        before, after = (np.asarray(getattr(r[key], 'tensor', r[key])) for r in (raw, normed))
        np.testing.assert_allclose(after[:, 3], (before[:, 3] - 100.0) / 50.0, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(after[:, :3], before[:, :3])
