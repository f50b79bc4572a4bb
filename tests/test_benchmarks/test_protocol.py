"""The protocol of every preset: nested scene-level splits, the same fine-tuning iterations for
every fraction (read from the commands the harness runs), schedules in iterations, published figures."""

import math
import pickle

import pytest
from mmengine.config import Config

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks import label_efficiency as le
from mmssl.benchmarks.presets import BenchmarkPreset, Schedule
from mmssl.benchmarks.published import REPO_ROOT, load_published
from mmssl.benchmarks.schedule import rescale_schedulers, warmup_cosine


def _fake_world(root, scenes=100, frames=8):
    """An info file of ``scenes`` x ``frames`` frames (scene tokens given) and an empty val file."""
    data = [
        dict(sample_idx=s * frames + f, token=f's{s}f{f}', scene_token=f'scene{s:03d}', instances=[])
        for s in range(scenes)
        for f in range(frames)
    ]
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in (('nuscenes_infos_train.pkl', data), ('nuscenes_infos_val.pkl', data[:frames])):
        with open(root / name, 'wb') as fh:
            pickle.dump(dict(metainfo=dict(dataset='nuscenes'), data_list=rows), fh)
    return root


def test_harness_splits_are_nested_and_scene_level(tmp_path):
    root = _fake_world(tmp_path / 'world')
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['cpu'], 'bevfusion', ['scratch'], [0.01, 0.1, 1.0], [0], tmp_path / 'out', data_root=str(root)
    )
    kept = {}
    for fraction in (0.01, 0.1, 1.0):
        with open(bench.split_file(fraction), 'rb') as fh:
            rows = pickle.load(fh)['data_list']
        scenes = {r['scene_token'] for r in rows}
        assert len(rows) == 8 * len(scenes), 'every kept scene is kept whole'
        kept[fraction] = scenes
    assert [len(kept[f]) for f in (0.01, 0.1, 1.0)] == [1, 10, 100]
    assert kept[0.01] < kept[0.1] < kept[1.0]
    # the split depends on the fraction and split seed only: another method gets the same file
    other = le.LabelEfficiencyBenchmark(
        PRESETS['cpu'], 'bevfusion', ['nsmae'], [0.1], [1], tmp_path / 'out', data_root=str(root)
    )
    assert other.split_file(0.1) == bench.split_file(0.1)


class _Stop(Exception):
    pass


def _finetune_plans(monkeypatch, preset, root, out):
    """What the harness's training command sets, per (method, fraction, seed)."""
    plans = {}

    def record(cmd, log_file, threads=None):
        if cmd[0] != 'tools/train.py':
            return
        options = cmd[cmd.index('--cfg-options') + 1 :]
        cfg = Config.fromfile(cmd[1], import_custom_modules=False)
        raise _Stop(dict(cfg=cfg, options=options))

    monkeypatch.setattr(le, 'run_logged', record)
    bench = le.LabelEfficiencyBenchmark(
        preset, 'bevfusion', list(preset.methods), list(preset.fractions), [0, 1], out, data_root=str(root)
    )
    for method in preset.methods:
        pretrained = None if method == 'scratch' else dict(checkpoint='/ckpt/iter_1.pth', config='x')
        for fraction in preset.fractions:
            for seed in (0, 1):
                with pytest.raises(_Stop) as stop:
                    bench.finetune(method, fraction, seed, pretrained)
                plans[(method, fraction, seed)] = stop.value.args[0]
    return plans


@pytest.mark.parametrize('name', sorted(PRESETS))
def test_every_fraction_gets_the_same_finetune_iterations(name, monkeypatch, tmp_path):
    preset = PRESETS[name]
    root = _fake_world(tmp_path / 'world', scenes=50, frames=20)  # 1000 training frames
    plans = _finetune_plans(monkeypatch, preset, root, tmp_path / 'out')
    batch = Config.fromfile(preset.models['bevfusion'].finetune_config).train_dataloader.batch_size
    expected = preset.finetune_iters or preset.finetune_epochs_of_full * math.ceil(1000 / batch)
    for key, plan in plans.items():
        cfg, options = plan['cfg'], plan['options']
        assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == expected, key
        assert 'max_epochs' not in cfg.train_cfg
        # no epoch transitions (MMEngine's IterBasedTrainLoop sleeps 2 s at each)
        assert cfg.train_dataloader.sampler == dict(type='InfiniteSampler', shuffle=True), key
        assert not any(o.startswith(('train_cfg', 'param_scheduler')) for o in options), key
        for sched in cfg.param_scheduler:
            assert sched['by_epoch'] is False and sched.get('end', expected) <= expected, key
        assert any(
            o.startswith(f'train_dataloader.dataset.ann_file={tmp_path / "out"}/splits/') for o in options
        )
    schedules = {repr(p['cfg'].param_scheduler) for p in plans.values()}
    assert len(schedules) == 1, 'one fine-tuning schedule for every method, fraction and seed'


def test_nuscenes_preset_is_the_100_percent_schedule(monkeypatch, tmp_path):
    """20 epochs of the full training set at batch 4, and the one-cycle over all of them."""
    root = _fake_world(tmp_path / 'world', scenes=50, frames=20)
    plans = _finetune_plans(monkeypatch, PRESETS['nuscenes'], root, tmp_path / 'out')
    cfg = plans[('scratch', 0.01, 0)]['cfg']
    assert cfg.train_cfg.max_iters == 20 * 250
    (one_cycle,) = cfg.param_scheduler
    assert one_cycle['type'] == 'OneCycleLR' and (one_cycle['begin'], one_cycle['end']) == (0, 5000)
    assert 'convert_to_iter_based' not in one_cycle
    assert 'same number of iterations as the 100% run' in PRESETS['nuscenes'].description


def test_presets_must_fix_the_finetune_iterations():
    base = PRESETS['quick']
    with pytest.raises(ValueError, match='same fine-tuning iterations'):
        BenchmarkPreset(**{**base.__dict__, 'finetune_iters': None})
    with pytest.raises(ValueError, match='exactly one'):
        BenchmarkPreset(**{**base.__dict__, 'finetune_epochs_of_full': 20})


def test_published_figures_come_from_the_metafile():
    pub = PRESETS['nuscenes'].published
    assert (
        pub[('bevfusion', 'scratch', 0.01)]['mAP'] == 26.2
        and pub[('bevfusion', 'nsmae', 0.01)]['mAP'] == 30.2
    )
    assert (
        pub[('bevfusion', 'scratch', 0.1)]['mAP'] == 54.2 and pub[('bevfusion', 'nsmae', 0.1)]['mAP'] == 55.9
    )
    assert pub[('bevfusion', 'nsmae', 1.0)]['NDS'] == 65.5
    assert len(pub) == 8


METAFILE_METHODS = sorted(p.parent.name for p in (REPO_ROOT / 'configs').glob('*/metafile.yml'))


@pytest.mark.parametrize('method', METAFILE_METHODS)
def test_every_metafile_loads_with_numeric_metrics(method):
    figures = load_published(f'configs/{method}/metafile.yml')
    assert all(isinstance(v, float) for metrics in figures.values() for v in metrics.values())
    if method == 'largead':  # the measured rows: interval bounds as scalar metrics around the mean gain
        row = figures[('minkunet_lidarseg_tiny', 'largead_notmp', 0.1)]
        gain = row['mIoU'] - row['scratch mIoU']
        assert row['mIoU gain 95% CI low'] < gain < row['mIoU gain 95% CI high']


def test_a_multi_source_pretraining_keeps_its_interleaved_sampler(tmp_path):
    root = _fake_world(tmp_path / 'world')
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['cpu'],
        'minkunet_lidarseg',
        ['largead', 'largead_2src'],
        [1.0],
        [0],
        tmp_path,
        data_root=str(root),
    )
    assert 'train_dataloader' not in bench.pretrain_overrides(
        'largead_2src'
    )  # SourceInterleavedSampler stays
    sampler = bench.pretrain_overrides('largead')['train_dataloader']['sampler']
    assert sampler == dict(_delete_=True, type='InfiniteSampler', shuffle=True)


def test_pretraining_overrides_move_the_weights_and_save_w0(tmp_path):
    root = _fake_world(tmp_path / 'world')  # 800 frames
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['cpu'], 'bevfusion', ['nsmae'], [1.0], [0], tmp_path, data_root=str(root)
    )
    o = bench.pretrain_overrides('nsmae')
    assert o['optim_wrapper'] == dict(optimizer=dict(lr=1e-3))
    assert o['train_cfg']['max_iters'] == 1200
    warm, cos = o['param_scheduler']
    assert (warm['type'], warm['end']) == ('LinearLR', 60) and (cos['begin'], cos['end'], cos['T_max']) == (
        60,
        1200,
        1140,
    )
    assert cos['eta_min'] == pytest.approx(1e-5)
    assert o['custom_hooks'][-1] == dict(type='StartWeightsHook')
    assert o['train_dataloader']['sampler']['type'] == 'InfiniteSampler'
    assert 'ComputeStatsHook' in {h['type'] for h in o['custom_hooks']}
    assert 'mmssl.benchmarks.weight_change' in o['custom_imports']['imports']
    assert bench.encoder_prefixes() == [
        'img_backbone.',
        'img_neck.',
        'view_transform.',
        'pts_voxel_encoder.',
        'pts_middle_encoder.',
    ]


def test_a_longer_pretraining_stretches_its_schedule(tmp_path):
    root = _fake_world(tmp_path / 'world')
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['cpu'], 'bevfusion', ['nsmae', 'nsmae_x5'], [1.0], [0], tmp_path, data_root=str(root)
    )
    assert bench.entry.pretrain_configs['nsmae_x5'] == bench.entry.pretrain_configs['nsmae']
    assert (bench.pretrain_iterations('nsmae'), bench.pretrain_iterations('nsmae_x5')) == (1200, 6000)
    o = bench.pretrain_overrides('nsmae_x5')
    assert o['train_cfg']['max_iters'] == 6000
    warm, cos = o['param_scheduler']  # the same 5% warm-up and cosine, over 6000 iterations
    assert warm['end'] == 300 and (cos['begin'], cos['end']) == (300, 6000)
    assert bench.protocol()['pretrain_iters'] == 1200  # the preset's protocol is unchanged


def test_rescale_schedulers():
    # An epoch-based warm-up (1 epoch) + step decay at epochs 8 and 11 of a 12-epoch config,
    # 100 iterations per epoch of the full set, run for 600 iterations.
    scheds = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
        dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11]),
    ]
    warm, step = rescale_schedulers(scheds, native_iters=1200, total_iters=600, iters_per_epoch=100)
    assert (warm['begin'], warm['end'], warm['by_epoch']) == (
        0,
        50,
        False,
    ) and 'convert_to_iter_based' not in warm
    assert step['milestones'] == [400, 550] and step['end'] == 600
    # An iteration-based cosine of a 2000-iteration config stretched to 500.
    (cos,) = rescale_schedulers(
        dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=2000, T_max=1900), 2000, 500, 7
    )
    assert (cos['begin'], cos['end'], cos['T_max']) == (25, 500, 475)
    assert warmup_cosine(Schedule(lr=1.0, warmup_ratio=0.0), 10) == [
        dict(type='CosineAnnealingLR', T_max=10, eta_min=0.01, by_epoch=False, begin=0, end=10)
    ]
