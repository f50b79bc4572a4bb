"""The label-efficiency harness with a LiDAR segmentation model (MinkUNet, SegMetric): preset entry
and strategies, run configs and records, no BEV probe, the lidarseg-label check, one micro run."""

import json
import pickle
import re
from pathlib import Path

import pytest
from mmengine.config import Config

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks import label_efficiency as le
from mmssl.benchmarks.strategies import MINKUNET_STRATEGIES
from mmssl.benchmarks.world_checks import check_lidarseg_labels
from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import run_tool

MODEL = 'minkunet_lidarseg'
PROBE_CONFIG = 'projects/MinkUNet/configs/minkunet_lidarseg_probe_tiny_synthetic.py'
STRATEGIES = ['full', 'probe', 'progressive', 'layer_decay']
#: What tools/test.py writes for SegMetric (NaN: a class in neither the labels nor the predictions).
SEG_METRICS = dict(barrier=0.1, car=0.3, other_flat=float('nan'), miou=0.2, acc=0.8, acc_cls=0.4)


def test_entry_has_the_image_to_lidar_methods_no_lora_and_strategies_cover_every_parameter():
    from mmssl.models.finetune import in_modules
    from mmssl.testing.synthetic_batch import build_from_config

    entry = PRESETS['micro'].models[MODEL]
    assert entry.finetune_config == 'projects/MinkUNet/configs/minkunet_lidarseg_tiny_synthetic.py'
    assert entry.pretrain_configs == {
        **{m: f'configs/{m}/{m}_minkunet_tiny.py' for m in ('ppkt', 'slidr', 'scalr', 'largead')},
        **{
            f'largead_{v}': f'configs/largead/largead_minkunet_tiny_{v}.py' for v in ('slic', 'notmp', '2src')
        },
    }
    assert not entry.bev_probe and entry.lidarseg_labels
    for config in entry.pretrain_configs.values():  # each pre-trains this model's backbone
        assert Config.fromfile(config).downstream_config == entry.finetune_config
    assert sorted(entry.strategies) == sorted(STRATEGIES)  # no lora: peft cannot wrap spconv layers
    with pytest.raises(KeyError, match=r"no pre-training config for method 'nsmae'"):
        le.LabelEfficiencyBenchmark(PRESETS['micro'], MODEL, ['scratch', 'nsmae'], [0.5], [0], 'x')
    with pytest.raises(KeyError, match='no fine-tuning strategy'):
        le.LabelEfficiencyBenchmark(
            PRESETS['micro'], MODEL, ['scratch'], [0.5], [0], 'x', strategies=['lora']
        )

    model, _ = build_from_config(REPO_ROOT / entry.finetune_config)
    names = [n for n, _ in model.named_parameters()]
    groups = [g['modules'] for g in MINKUNET_STRATEGIES['progressive'].unfreeze]
    layers = MINKUNET_STRATEGIES['layer_decay'].optim_wrapper['paramwise_cfg']['layers']
    for plan in (groups, layers):
        assert all(sum(in_modules(n, modules) for modules in plan) == 1 for n in names)
    probe_config = Config.fromfile(REPO_ROOT / PROBE_CONFIG, import_custom_modules=False)
    assert MINKUNET_STRATEGIES['probe'].model['finetune_strategy'] == probe_config.model.finetune_strategy


class _FakeTools:
    """Stands in for tools/train.py and tools/test.py: writes what the harness reads back, with
    SegMetric's keys in metrics.json."""

    def __init__(self) -> None:
        self.train = {}

    def __call__(self, cmd, log_file, threads=None) -> None:
        work_dir = log_file.parent
        work_dir.mkdir(parents=True, exist_ok=True)
        if cmd[0] == 'tools/train.py':
            self.train[work_dir] = cmd
            (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
        elif cmd[0] == 'tools/test.py':
            out = Path(cmd[cmd.index('--metrics-json') + 1])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(SEG_METRICS, default=float))


def test_strategy_run_configs_and_segmetric_run_records(tmp_path, monkeypatch):
    tools = _FakeTools()
    monkeypatch.setattr(le, 'run_logged', tools)
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['micro'], MODEL, ['scratch'], [0.5], [0], tmp_path / 'out', strategies=STRATEGIES[1:]
    )
    monkeypatch.setattr(bench, 'split_file', lambda fraction: tmp_path / 'split.pkl')
    monkeypatch.setattr(bench, 'training_frames', lambda: 8)
    records = {s: bench.finetune('scratch', 0.5, 0, None, strategy=s) for s in STRATEGIES}
    full = records['full']
    assert full['lidarseg_mIoU'] == pytest.approx(20.0) and full['IoU_car'] == pytest.approx(30.0)
    assert full['IoU_other_flat'] is None and 'NDS' not in full
    json.loads((tmp_path / 'out/runs/minkunet_lidarseg_scratch/frac0.5_seed0/result.json').read_text())
    cfgs = {
        s: Config.fromfile(tools.train[Path(r['work_dir'])][1], import_custom_modules=False)
        for s, r in records.items()
    }
    assert cfgs['probe'].model.finetune_strategy == dict(
        type='LinearProbe', trainable=['decode_head.conv_seg']
    )
    hook = cfgs['progressive'].custom_hooks[-1]
    assert hook.type == 'ProgressiveUnfreezeHook' and [g['begin'] for g in hook.groups] == [0, 1, 3]
    assert [g['modules'] for g in hook.groups] == [
        ['decode_head'],
        ['backbone.decoder'],
        ['backbone.encoder', 'backbone.conv_input'],
    ]
    assert cfgs['layer_decay'].optim_wrapper.constructor == 'LayerDecayOptimWrapperConstructor'
    assert all(c.train_cfg.max_iters == 4 and c.val_evaluator is None for c in cfgs.values())


def test_the_bev_probe_is_skipped_and_logged(tmp_path, monkeypatch, capsys):
    bench = le.LabelEfficiencyBenchmark(PRESETS['micro'], MODEL, ['scratch'], [0.5], [0], tmp_path)
    assert PRESETS['micro'].probe_fraction == 0.5 and not bench.probe_enabled
    assert bench.protocol()['probe_fraction'] is None
    for step in ('prepare_data', 'check_data'):
        monkeypatch.setattr(bench, step, lambda: None)
    monkeypatch.setattr(bench, 'split_file', lambda fraction: tmp_path / 'split.pkl')
    monkeypatch.setattr(bench, 'probe', lambda *a: pytest.fail('the BEV probe ran'))
    monkeypatch.setattr(bench, 'finetune', lambda m, f, s, pre, strategy: dict(method=m, fraction=f, seed=s))
    reports = {}
    monkeypatch.setattr(le, 'write_reports', lambda out, records, *a, **kw: reports.update(kw))
    bench.run()
    assert reports['probes'] == {}
    assert (
        'feature probe skipped: tools/probe_features.py is a linear BEV box-class probe'
        in capsys.readouterr().out
    )
    assert not le.LabelEfficiencyBenchmark(
        PRESETS['micro'], MODEL, ['scratch'], [0.5], [0], tmp_path, probe=False
    ).probe_skipped


def _world(root: Path, labelled: bool, label_files: int = 2) -> Path:
    """A hand-made world: info files of two frames each (with or without lidarseg labels)."""
    folder = root / 'lidarseg' / 'v1.0-mini'
    folder.mkdir(parents=True)
    for split in ('train', 'val'):
        frames = []
        for i in range(2):
            info = dict(token=f'{split}{i}', lidar_points=dict(lidar_path=f'{split}{i}.pcd.bin'))
            if labelled:
                info['pts_semantic_mask_path'] = f'{split}{i}_lidarseg.bin'
                if i < label_files:
                    (folder / info['pts_semantic_mask_path']).write_bytes(b'\0')
            frames.append(info)
        with open(root / f'nuscenes_infos_{split}.pkl', 'wb') as f:
            pickle.dump(dict(metainfo=dict(version='v1.0-mini'), data_list=frames), f)
    return root


def test_a_world_without_lidarseg_labels_fails_before_any_step(tmp_path):
    world = _world(tmp_path / 'old_world', labelled=False)
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['micro'], MODEL, ['scratch'], [0.5], [0], tmp_path / 'out', data_root=str(world)
    )
    with pytest.raises(FileNotFoundError) as err:
        bench.run()
    message = str(err.value)
    assert f'the world {world} has none' in message
    assert (
        f'2 of 2 frames of {world}/nuscenes_infos_train.pkl have no pts_semantic_mask_path (first: train0)'
        in message
    )
    assert f'{world}/v1.0-mini/lidarseg.json does not exist either' in message
    assert (
        f'python tools/create_synthetic_nuscenes.py --out {world} --scenes 4 --samples-per-scene 3' in message
    )
    assert not (tmp_path / 'out' / 'splits').exists(), 'no step ran'
    # labelled infos, one label file missing per info file
    world = _world(tmp_path / 'half_world', labelled=True, label_files=1)
    with pytest.raises(
        FileNotFoundError,
        match=r'1 of 2 label files of .*nuscenes_infos_val.pkl are missing \(first: '
        + re.escape(f'{world}/lidarseg/v1.0-mini/val1_lidarseg.bin)'),
    ):
        check_lidarseg_labels(world, ['nuscenes_infos_train.pkl', 'nuscenes_infos_val.pkl'], MODEL, 'hint')
    check_lidarseg_labels(
        _world(tmp_path / 'new_world', labelled=True), ['nuscenes_infos_train.pkl'], MODEL, ''
    )
    detector = le.LabelEfficiencyBenchmark(
        PRESETS['micro'], 'centerpoint', ['scratch'], [0.5], [0], tmp_path, data_root=str(world)
    )
    detector.check_data()  # detectors read no lidarseg labels


def test_micro_run_of_minkunet_from_scratch(synthetic_world, tmp_path):
    """Split, 4 fine-tuning iterations, tools/test.py with SegMetric, reports; the probe skipped."""
    args = [
        'tools/benchmark_label_efficiency.py', '--preset', 'micro', '--model', MODEL, '--methods', 'scratch',
        '--fractions', '0.5', '--seeds', '0', '--data-root', str(synthetic_world['root']),
        '--out', str(tmp_path),
    ]  # fmt: skip
    out = run_tool(args, timeout=600).stdout
    assert 'feature probe skipped' in out and 'scratch fraction 0.5 seed 0 finished: mIoU ' in out
    payload = json.loads((tmp_path / 'results.json').read_text())
    (run,) = payload['runs']
    assert run['model'] == MODEL and run['finetune_iters'] == 4 and 'NDS' not in run
    assert 0 <= run['lidarseg_mIoU'] <= 100 and 0 <= run['lidarseg_acc'] <= 100
    assert len(run['lidarseg_IoU']) == 16 and all(
        v is None or 0 <= v <= 100 for v in run['lidarseg_IoU'].values()
    )
    assert payload['probes'] == {} and payload['paired_vs_scratch'] == []
    (summary,) = payload['summary']
    assert summary['lidarseg_mIoU'] == pytest.approx(run['lidarseg_mIoU'])
    md = (tmp_path / 'results.md').read_text()
    assert '| scratch | 0.5 | 1 |' in md and 'mIoU gain vs scratch' in md
    assert '## LiDAR segmentation per class' in md and '## Feature probe' not in md
    assert (tmp_path / 'label_efficiency.png').read_bytes()[:4] == b'\x89PNG'
    assert not (tmp_path / 'probe').exists()


@pytest.mark.parametrize('model', ['minkunet_lidarseg', 'bevfusion'])
def test_the_test_options_merge_into_every_strategy_run_config(model, tmp_path, synthetic_world):
    """tools/test.py tests a strategy's run with its run config (validation removed): the
    harness's test options must merge into it, and point the test data at the val info file."""
    entry = PRESETS['micro'].models[model]
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['micro'], model, ['scratch'], [0.5], [0], tmp_path, data_root=str(synthetic_world['root'])
    )
    split = tmp_path / 'split.pkl'
    options = dict(o.split('=', 1) for o in bench._data_options(str(split)))
    val = str(bench.data_root / PRESETS['micro'].val_info)
    assert options['test_dataloader.dataset.ann_file'] == val
    assert options['train_dataloader.dataset.ann_file'] == str(split)
    for strategy in entry.strategies:
        run_config = bench._run_config(
            f'finetune_{model}_{strategy}', entry.finetune_config, bench.strategy_overrides(strategy)
        )
        cfg = Config.fromfile(run_config, import_custom_modules=False)
        assert cfg.val_dataloader is None
        cfg.merge_from_dict(options)  # raised TypeError with val_dataloader.* options
        assert cfg.test_dataloader.dataset.ann_file == val
