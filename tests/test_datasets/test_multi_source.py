"""Multi-source pre-training data: the generator's LiDAR rigs, MultiSourceDataset, its sampler,
PerSourceNormalizePoints and tools/compute_source_stats.py."""

from __future__ import annotations

import json
from pathlib import Path

import mmengine
import numpy as np
import pytest
import torch

from mmssl.datasets.synthetic import LIDAR_PRESETS, LidarSpec, create_infos, generate_world, lidar_spec
from mmssl.registry import DATASETS, TRANSFORMS
from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import import_tool

CONFIG = REPO_ROOT / 'configs/_base_/datasets/synthetic_nus_multisource_pretrain.py'
TINY = dict(scenes=1, samples_per_scene=2, sweeps_per_sample=0, img_size=(16, 32), workers=1, progress=False)
TINY.update(lidar_azimuth_steps=90, objects_per_scene=5)  # the fewest scenes / frames / rays that do
META = ['source_index', 'source_name']
LOAD = dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5)


def _points(root: Path) -> dict[str, np.ndarray]:
    """Keyframe file name -> (N, 5) points of a world."""
    files = sorted((root / 'samples/LIDAR_TOP').glob('*.bin'))
    return {p.name: np.fromfile(p, dtype=np.float32).reshape(-1, 5) for p in files}


def _world(root: Path, **kwargs) -> Path:
    summary = generate_world(root, **{**TINY, **kwargs})
    create_infos(root, summary['version'], quiet=True)
    return root


@pytest.fixture(scope='module')
def worlds(tmp_path_factory):
    """Two tiny worlds: the default 32-beam rig and the 64-beam preset (another seed: sources must
    not share sample tokens)."""
    base = tmp_path_factory.mktemp('multisource')
    return dict(w32=_world(base / 'w32'), w64=_world(base / 'w64', lidar='hdl64e', seed=1))


def _source(root: Path, pipeline=None, **kw) -> dict:
    cfg = dict(type='NuScenesSSLDataset', data_root=str(root), ann_file='nuscenes_infos_train.pkl')
    cfg.update(data_prefix=dict(pts='samples/LIDAR_TOP'), modality=dict(use_lidar=True), with_label=False)
    if pipeline is not None:
        cfg['pipeline'] = pipeline
    return dict(cfg, **kw)


def _elevation_deg(points: np.ndarray) -> np.ndarray:
    return np.rad2deg(np.arctan2(points[:, 2], np.hypot(points[:, 0], points[:, 1])))


def _multi(sources, **kwargs):
    return DATASETS.build(dict(type='MultiSourceDataset', sources=sources, **kwargs))


def _assert_standardised(values: torch.Tensor) -> None:
    assert abs(values.mean().item()) < 1e-5 and abs(values.std(correction=0).item() - 1) < 1e-5


# ------------------------------------------------------------------ generator rigs
def test_default_rig_is_the_hdl32e_and_writes_what_it_wrote(tmp_path):
    assert LidarSpec() == LIDAR_PRESETS['hdl32e'] == lidar_spec() == LidarSpec(32, (-30.67, 10.67))
    assert LIDAR_PRESETS['hdl64e'] == LidarSpec(64, (-24.8, 2.0), intensity_scale=1 / 255)
    # The explicit pre-change rig (32 beams, -30.67 .. 10.67 deg, no scale) gives the same bytes.
    a = generate_world(tmp_path / 'a', **TINY)
    generate_world(tmp_path / 'b', lidar=LidarSpec(32, (-30.67, 10.67), 90, 80.0), **TINY)
    pa, pb = _points(tmp_path / 'a'), _points(tmp_path / 'b')
    assert pa.keys() == pb.keys() and all(pa[k].tobytes() == pb[k].tobytes() for k in pa)
    # Fingerprint of this world written by the generator before the rig option existed.
    assert [len(p) for p in pa.values()] == [2748, 2759]
    assert [int(p[:, 3].sum()) for p in pa.values()] == [71405, 80853]
    intensity = np.concatenate([p[:, 3] for p in pa.values()])
    assert np.array_equal(intensity, np.round(intensity)) and 0 <= intensity.min() and intensity.max() <= 255
    expected = dict(
        num_beams=32, elevation=[-30.67, 10.67], azimuth_steps=90, max_range=80.0, intensity_scale=1.0
    )
    assert a['settings']['lidar'] == dict(preset='hdl32e', **expected)


@pytest.mark.parametrize('rig', ['w32', 'w64'])
def test_beam_count_and_vertical_fov_show_in_the_points(worlds, rig):
    spec = lidar_spec('hdl32e' if rig == 'w32' else 'hdl64e')
    pts = np.concatenate(list(_points(worlds[rig]).values()))
    ring = pts[:, 4].astype(int)
    assert np.array_equal(pts[:, 4], ring) and ring.min() >= 0 and ring.max() < spec.num_beams
    elev = _elevation_deg(pts)
    beams = np.linspace(*spec.elevation, spec.num_beams)
    np.testing.assert_allclose(elev, beams[ring], atol=1e-3)  # each point on its ring's cone
    assert elev.min() == pytest.approx(spec.elevation[0], abs=1e-3)  # the lowest beam hits the ground
    assert elev.max() <= spec.elevation[1] + 1e-3
    rings = len(np.unique(np.round(elev, 2)))
    assert rings == len(np.unique(ring)) and rings > (32 if rig == 'w64' else 16)
    recorded = json.loads((worlds[rig] / 'synthetic_world.json').read_text())['settings']['lidar']
    assert recorded['num_beams'] == spec.num_beams and recorded['elevation'] == list(spec.elevation)


def test_intensity_scale_scales_the_written_intensity(worlds, tmp_path):
    base = _points(worlds['w32'])
    generate_world(tmp_path / 'half', lidar=lidar_spec(intensity_scale=0.5), **TINY)
    half = _points(tmp_path / 'half')
    for key, pts in base.items():
        np.testing.assert_array_equal(half[key][:, [0, 1, 2, 4]], pts[:, [0, 1, 2, 4]])
        np.testing.assert_array_equal(half[key][:, 3], pts[:, 3] * np.float32(0.5))
    kitti_like = np.concatenate([p[:, 3] for p in _points(worlds['w64']).values()])
    assert kitti_like.max() <= 1.0 and np.allclose(kitti_like * 255, np.round(kitti_like * 255), atol=1e-4)


def test_tool_rig_options_reach_the_world_metadata(tmp_path, capsys):
    tool = import_tool('tools/create_synthetic_nuscenes.py', '_tool_create_synthetic_ms')
    assert tool.lidar_rig(tool.parse_args(['--out', 'x', '--lidar-rig', 'hdl64e'])) == 'hdl64e'
    out = tmp_path / 'w16'
    args = ['--out', str(out), '--scenes', '1', '--samples-per-scene', '1', '--sweeps-per-sample', '0']
    args += ['--img-size', '8', '8', '--lidar-azimuth-steps', '36', '--objects-per-scene', '2']
    args += ['--skip-infos', '--no-lidarseg', '--workers', '1']
    tool.main([*args, '--lidar-beams', '16', '--lidar-vfov', '-20', '5', '--intensity-scale', '0.5'])
    capsys.readouterr()
    lidar = json.loads((out / 'WORLD_COMPLETE.json').read_text())['settings']['lidar']
    assert lidar == dict(preset=None, **LidarSpec(16, (-20.0, 5.0), 36, intensity_scale=0.5).to_dict())
    pts = np.concatenate(list(_points(out).values()))
    assert pts[:, 4].max() < 16 and _elevation_deg(pts).min() == pytest.approx(-20.0, abs=1e-3)
    with pytest.raises(ValueError, match='unknown LiDAR preset'):
        lidar_spec('hdl128')
    with pytest.raises(ValueError, match='elevation'):
        LidarSpec(elevation=(5.0, -5.0))


# ------------------------------------------------------------------ MultiSourceDataset
def test_multi_source_dataset_indices_and_source_index(worlds, kitti_cfg, kitti_demo_dir):
    pack = dict(type='PackSSLInputs', keys=['points'], meta_keys=META)
    kitti = kitti_cfg([dict(LOAD, load_dim=4, use_dim=4), pack], modality=dict(use_lidar=True))
    # the shared pipeline serves the sources without their own
    ds = _multi([_source(worlds['w32']), _source(worlds['w64']), kitti], pipeline=[LOAD, pack])
    assert ds.names == ['w32', 'w64', Path(kitti_demo_dir).name]
    assert ds.source_sizes == [2, 2, 1] and len(ds) == 5 and ds.cumulative_sizes == [2, 4, 5]
    assert ds.source_indices().tolist() == [0, 0, 1, 1, 2]
    assert [ds.source_of(i) for i in range(5)] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]
    assert ds.source_of(-1) == (2, 0) and ds.metainfo['source_names'] == ds.names
    with pytest.raises(IndexError):
        ds.source_of(5)
    for i in range(len(ds)):
        src, local = ds.source_of(i)
        meta = ds[i]['data_samples'].metainfo
        assert (meta['source_index'], meta['source_name']) == (src, ds.names[src])
        info = ds.get_data_info(i)
        assert info['source_index'] == src and info['token'] == ds.datasets[src].get_data_info(local)['token']
    assert ds[4]['inputs']['points'].shape[1] == 4 and ds[0]['inputs']['points'].shape[1] == 5


def test_multi_source_dataset_errors(worlds, tmp_path):
    with pytest.raises(ValueError, match='at least one source'):
        _multi([])
    with pytest.raises(ValueError, match=r"source 1 \('b'\): unknown dataset type 'NoSuchDataset'"):
        _multi([_source(worlds['w32']), dict(type='NoSuchDataset')], names=['a', 'b'], pipeline=[LOAD])
    with pytest.raises(ValueError, match='one unique name per source'):
        _multi([_source(worlds['w32'])] * 2, names=['a', 'a'])
    info = mmengine.load(worlds['w32'] / 'nuscenes_infos_train.pkl')
    mmengine.dump(dict(metainfo=info['metainfo'], data_list=[]), tmp_path / 'empty.pkl')
    empty = _source(worlds['w32'], ann_file=str(tmp_path / 'empty.pkl'))
    ok = _multi([_source(worlds['w32'])], pipeline=[LOAD], lazy_init=True)
    assert len(ok) == 2 and ok[1]['source_name'] == 'w32' and len(ok[1]['points']) > 0
    lazy = _multi([empty], names=['empty'], pipeline=[LOAD], lazy_init=True)
    with pytest.raises(ValueError, match=r"source 'empty' .*has no samples"):
        len(lazy)
    with pytest.raises(ValueError, match=r"source 'empty' .*has no samples"):
        _multi([_source(worlds['w32']), empty], names=['w', 'empty'], pipeline=[LOAD])
    twin = _world(tmp_path / 'twin', lidar='hdl64e')  # the seed of w32: the same sample tokens
    with pytest.raises(ValueError, match=r"sources 'a' and 'b' share sample token .*another --seed"):
        _multi([_source(worlds['w32']), _source(twin)], names=['a', 'b'], pipeline=[LOAD])


class _Sources:
    def __init__(self, sizes):
        self.sizes = sizes

    def __len__(self):
        return sum(self.sizes)

    def source_indices(self):
        return np.repeat(np.arange(len(self.sizes)), self.sizes)


def test_interleaved_sampler_mixes_sources_in_every_batch(monkeypatch):
    from mmssl.datasets import multi_source
    from mmssl.registry import DATA_SAMPLERS

    for sizes, batch in (([10, 10], 2), ([30, 10], 4), ([7, 5, 9], 3)):
        ds = _Sources(sizes)
        sampler = DATA_SAMPLERS.build(dict(type='SourceInterleavedSampler', dataset=ds, seed=3))
        order = list(sampler)
        assert sorted(order) == list(range(len(ds))) and len(sampler) == len(ds)
        src = ds.source_indices()[order]
        for start in range(0, len(order) - batch + 1, batch):
            assert len(set(src[start : start + batch])) >= min(len(sizes), 2), (sizes, src)
        sampler.set_epoch(1)
        assert list(sampler) != order
    monkeypatch.setattr(multi_source, 'get_dist_info', lambda: (1, 2))
    sampler = multi_source.SourceInterleavedSampler(_Sources([5, 4]), seed=0)
    full = sampler.order()
    assert len(sampler) == 5 and list(sampler) == np.resize(full, 10)[5:].tolist()
    with pytest.raises(TypeError, match='MultiSourceDataset'):
        multi_source.SourceInterleavedSampler(list(range(4)))


# ------------------------------------------------------------------ normalisation
def test_running_moments_and_point_file_moments_match_numpy(tmp_path):
    from mmssl.datasets.transforms.source_norm import RunningMoments, point_file_moments

    rng = np.random.default_rng(0)
    chunks = [(rng.normal(1e4, 0.5, size=(n, 5))).astype(np.float32) for n in (1, 7, 1000, 33)]
    files = [str(tmp_path / f'{i}.bin') for i in range(len(chunks))]
    for chunk, path in zip(chunks, files):
        chunk.tofile(path)
    allpts = np.concatenate(chunks).astype(np.float64)
    m = point_file_moments(files, load_dim=5, columns=[0, 1], use_dim=[3, 1, 0])
    assert m.count == len(allpts)
    np.testing.assert_allclose(m.mean, allpts[:, [3, 1]].mean(0), rtol=1e-12)
    np.testing.assert_allclose(m.std, allpts[:, [3, 1]].std(0), rtol=1e-9)
    assert RunningMoments(1).std.tolist() == [0.0]
    # read by the checked loader: a wrong load_dim or an empty file is named
    with pytest.raises(ValueError, match=r'0\.bin: holds 5 float32 values, not a multiple .* load_dim=3'):
        point_file_moments(files, load_dim=3, columns=[0])
    (tmp_path / 'empty.bin').write_bytes(b'')
    with pytest.raises(ValueError, match='empty.bin: holds no points'):
        point_file_moments([str(tmp_path / 'empty.bin')], load_dim=5, columns=[0])


def test_per_source_normalize_points_transform(tmp_path):
    from mmdet3d.structures.points import LiDARPoints

    stats = dict(
        a=dict(columns=[3, 4], mean=[10.0, 1.0], std=[2.0, 0.0]), b=dict(columns=[3], mean=[0.5], std=[0.25])
    )
    t = TRANSFORMS.build(dict(type='PerSourceNormalizePoints', stats=stats))
    pts = torch.tensor([[0, 0, 0, 12.0, 1.0], [1, 1, 1, 8.0, 1.0]])
    out = t(dict(points=LiDARPoints(pts.clone(), points_dim=5), source_name='a'))['points'].tensor
    assert out[:, 3].tolist() == [1.0, -1.0] and out[:, 4].tolist() == [1.0, 1.0]  # column 4 untouched
    assert out.dtype == torch.float32
    both = TRANSFORMS.build(dict(type='PerSourceNormalizePoints', stats=dict(a=stats['a']), columns=None))
    assert both(dict(points=pts.numpy().copy(), source_name='a'))['points'][:, 4].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"source 'kitti' has no statistics .*\['a', 'b'\]"):
        t(dict(points=pts.numpy().copy(), source_name='kitti'))
    with pytest.raises(ValueError, match='source_name'):
        t(dict(points=pts.numpy().copy()))
    with pytest.raises(ValueError, match=r"source 'b' has statistics of columns \[3\], not of \[4\]"):
        TRANSFORMS.build(dict(type='PerSourceNormalizePoints', stats=stats, columns=[3, 4]))
    with pytest.raises(FileNotFoundError, match='compute_source_stats'):
        TRANSFORMS.build(dict(type='PerSourceNormalizePoints', stats_file=str(tmp_path / 'none.json')))
    assert TRANSFORMS.build(dict(type='AddSourceInfo', index=2, name='x'))({}) == dict(
        source_index=2, source_name='x'
    )


def test_config_stats_tool_and_per_source_mean0_std1(worlds, tmp_path, capsys):
    from mmengine.config import Config

    tool = import_tool('tools/compute_source_stats.py', '_tool_compute_source_stats')
    roots = {
        'train_dataloader.dataset.sources.0.data_root': f'{worlds["w32"]}/',
        'train_dataloader.dataset.sources.1.data_root': f'{worlds["w64"]}/',
    }
    stats_file = tmp_path / 'stats.json'
    stats = tool.main(
        [str(CONFIG), '--out', str(stats_file), '--cfg-options', *[f'{k}={v}' for k, v in roots.items()]]
    )
    capsys.readouterr()
    assert json.loads(stats_file.read_text()) == stats
    names = ['synthetic-nuscenes', 'synthetic-nuscenes-64beam']
    assert list(stats) == names
    for name, rig in zip(names, ('w32', 'w64')):
        raw = np.concatenate(list(_points(worlds[rig]).values())).astype(np.float64)[:, 3]
        assert stats[name]['count'] == len(raw) and stats[name]['columns'] == [3]
        np.testing.assert_allclose(stats[name]['mean'], [raw.mean()], rtol=1e-10)
        np.testing.assert_allclose(stats[name]['std'], [raw.std()], rtol=1e-10)
    assert stats[names[0]]['mean'][0] > 100 * stats[names[1]]['mean'][0]  # 0-255 vs 0-1

    cfg = Config.fromfile(str(CONFIG))
    cfg.merge_from_dict({**roots, 'train_dataloader.dataset.pipeline.1.stats_file': str(stats_file)})
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert ds.names == names and ds.source_sizes == [2, 2]
    normalised = {0: [], 1: []}
    for i in range(len(ds)):
        sample = ds[i]
        meta = sample['data_samples'].metainfo
        assert meta['source_name'] == names[meta['source_index']] and len(meta['cam_names']) == 6
        normalised[meta['source_index']].append(sample['inputs']['points'][:, 3].double())
    for values in normalised.values():  # over each source's data
        _assert_standardised(torch.cat(values))


def test_config_kitti_variant_gets_its_own_statistics(worlds, kitti_demo_dir, tmp_path):
    from mmengine.config import Config

    tool = import_tool('tools/compute_source_stats.py', '_tool_compute_source_stats')
    cfg = Config.fromfile(str(CONFIG))
    kitti = dict(cfg.kitti_source, data_root=str(kitti_demo_dir), ann_file='000008.pkl')
    kitti['data_prefix'] = dict(pts='', img='')
    world = dict(cfg.world_source, data_root=f'{worlds["w32"]}/')
    cfg.train_dataloader.dataset.update(sources=[world, kitti], names=['synthetic-nuscenes', 'kitti'])
    stats = tool.compute_stats(cfg, [3])
    info = mmengine.load(Path(kitti_demo_dir) / '000008.pkl')['data_list'][0]
    pts_file = Path(kitti_demo_dir) / info['lidar_points']['lidar_path']
    raw = np.fromfile(pts_file, dtype=np.float32).reshape(-1, 4)[:, 3]
    assert stats['kitti']['count'] == len(raw)
    np.testing.assert_allclose(stats['kitti']['mean'], [raw.astype(np.float64).mean()], rtol=1e-10)
    stats_file = tmp_path / 'stats.json'
    stats_file.write_text(json.dumps(stats))
    cfg.train_dataloader.dataset.pipeline[1].stats_file = str(stats_file)
    cfg.train_dataloader.dataset.sources[1].pipeline[1].stats_file = str(stats_file)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    sample = ds[len(ds) - 1]
    assert sample['data_samples'].metainfo['source_name'] == 'kitti'
    assert sample['data_samples'].metainfo['source_index'] == 1
    _assert_standardised(sample['inputs']['points'][:, 3].double())
