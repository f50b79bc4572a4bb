"""Multi-source pre-training in the harness: the benchmark's world as source 0, the declared world of
another source generated when missing, per-source statistics over this run's sources, and
superpixels and teacher features for every frame of every source."""

import copy
import dataclasses
import json
import pickle
from pathlib import Path

import pytest
from mmengine.config import Config

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.label_efficiency import LabelEfficiencyBenchmark
from mmssl.benchmarks.source_prep import prepare_source_worlds, source_data_options, training_sources
from mmssl.testing.paths import REPO_ROOT

METHOD = 'largead_2src'
# the fewest scenes / frames / rays / pixels of a world that the pipeline reads
TINY_WORLD = dict(scenes=2, samples_per_scene=2, sweeps_per_sample=0, img_size=[32, 56], workers=1)
TINY_WORLD.update(lidar_azimuth_steps=90, objects_per_scene=5, val_ratio=0.5)


def _frames(info: Path) -> int:
    with open(info, 'rb') as f:
        return len(pickle.load(f)['data_list'])


def _bench(world: Path, out: Path) -> LabelEfficiencyBenchmark:
    return LabelEfficiencyBenchmark(
        PRESETS['micro'], 'minkunet_lidarseg', [METHOD], [0.5], [0], out, data_root=str(world)
    )


def _two_source_run_config(bench: LabelEfficiencyBenchmark, tmp: Path) -> str:
    """The preset's two-source config with every file it writes under ``tmp`` and a small teacher."""
    cfg = Config.fromfile(str(REPO_ROOT / bench.entry.pretrain_configs[METHOD]))
    weights = str(tmp / 'weights.pth')
    pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    for t in pipeline:
        if t['type'] == 'PerSourceNormalizePoints':
            t['stats_file'] = str(tmp / 'stats.json')
        if t['type'] == 'LoadSuperpixels':
            t.update(cache_root=str(tmp / 'superpixels'), source='slic')  # k-means: tested with its tool
    sources = copy.deepcopy(cfg.train_dataloader.dataset.sources)
    sources[1]['data_root'] = str(tmp / 'w64') + '/'
    teacher = dict(checkpoint=weights, input_size=(28, 42))
    return bench._run_config(
        f'pretrain_minkunet_lidarseg_{METHOD}',
        bench.entry.pretrain_configs[METHOD],
        dict(
            random_teacher_weights=dict(cfg.random_teacher_weights, checkpoint=weights),
            synthetic_source_worlds=[dict(cfg.synthetic_source_worlds[0], data_root=str(tmp / 'w64'))],
            train_dataloader=dict(dataset=dict(sources=sources, pipeline=pipeline)),
            model=dict(target_generator=dict(features=dict(cache_root=str(tmp / 'cache'), teacher=teacher))),
        ),
    )


def test_the_benchmark_world_is_source_zero_and_the_others_keep_their_roots(tmp_path):
    world = tmp_path / 'world'
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/largead/largead_minkunet_tiny_2src.py'))
    sources = training_sources(cfg, world, world / 'train.pkl')
    w64 = (REPO_ROOT / 'data/synthetic-nuscenes-64beam').resolve()
    assert sources == [
        dict(data_root=str(world), ann_file=str(world / 'train.pkl')),
        dict(data_root=str(w64), ann_file=str(w64 / 'nuscenes_infos_train.pkl')),
    ]
    assert source_data_options(sources) == [
        f'train_dataloader.dataset.sources.0.data_root={world}/',
        f'train_dataloader.dataset.sources.0.ann_file={world / "train.pkl"}',
        f'train_dataloader.dataset.sources.1.data_root={w64}/',
        f'train_dataloader.dataset.sources.1.ann_file={w64 / "nuscenes_infos_train.pkl"}',
    ]
    single = Config.fromfile(str(REPO_ROOT / 'configs/largead/largead_minkunet_tiny.py'))
    assert training_sources(single, world, world / 'train.pkl') == sources[:1]
    # an undeclared missing source fails before any step, naming its info file
    with pytest.raises(FileNotFoundError, match=r'source 1 .*nuscenes_infos_train.pkl does not exist'):
        prepare_source_worlds(dict(), sources, {}, tmp_path)


def test_two_source_pretraining_is_prepared_on_every_frame_of_both_sources(synthetic_world, tmp_path):
    bench = _bench(synthetic_world['root'], tmp_path / 'out')
    bench.preset = dataclasses.replace(bench.preset, world=dict(TINY_WORLD))  # what the 2nd world inherits
    run_config = _two_source_run_config(bench, tmp_path)
    options = bench.pretrain_data_options(run_config)
    assert options[0] == f'train_dataloader.dataset.sources.0.data_root={synthetic_world["root"]}/'
    w64_info = tmp_path / 'w64' / 'nuscenes_infos_train.pkl'
    assert options[3] == f'train_dataloader.dataset.sources.1.ann_file={w64_info}'
    work = tmp_path / 'work'
    record = bench.prepare_teacher(run_config, work)

    # the declared 64-beam world, generated with the preset's options plus its own
    complete = json.loads((tmp_path / 'w64' / 'WORLD_COMPLETE.json').read_text())
    assert complete['settings']['lidar']['preset'] == 'hdl64e' and complete['seed'] == 1
    assert complete['img_size'] == TINY_WORLD['img_size'] and complete['settings']['samples_per_scene'] == 2
    # statistics of both sources (source 0: the benchmark's world, under the config's name)
    stats = json.loads((tmp_path / 'stats.json').read_text())
    assert sorted(stats) == ['synthetic-nuscenes', 'synthetic-nuscenes-64beam']
    assert stats['synthetic-nuscenes-64beam']['mean'][0] < 1.0 < stats['synthetic-nuscenes']['mean'][0]
    frames = [_frames(synthetic_world['train_info']), _frames(tmp_path / 'w64' / 'nuscenes_infos_train.pkl')]
    assert stats['synthetic-nuscenes']['count'] > 0 and min(frames) > 0
    # superpixels and teacher features of every frame of both sources (tokens differ: another seed)
    assert [r['data_root'] for r in record['superpixels']] == [
        str(synthetic_world['root']),
        str(tmp_path / 'w64'),
    ]
    (sp_folder,) = [p for p in (tmp_path / 'superpixels').iterdir() if p.is_dir()]
    assert len([p for p in sp_folder.iterdir() if p.is_dir()]) == sum(frames)
    (cache,) = [p for p in (tmp_path / 'cache').iterdir() if p.is_dir()]
    assert len(list(cache.glob('*.pt'))) == sum(frames)
    assert record['source_stats'] == [str(tmp_path / 'stats.json')] and len(record['sources']) == 2
    # a second preparation finds the world there and does not generate it again
    before = (tmp_path / 'w64' / 'WORLD_COMPLETE.json').stat().st_mtime_ns
    bench.prepare_teacher(run_config, work)
    assert (tmp_path / 'w64' / 'WORLD_COMPLETE.json').stat().st_mtime_ns == before
