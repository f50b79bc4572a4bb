"""Fine-tuning strategies in the label-efficiency harness: run configs, paths, pairing vs full."""

import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks import label_efficiency as le
from mmssl.benchmarks.report import strategy_table, write_reports
from mmssl.benchmarks.stats import paired_differences, paired_vs_full
from mmssl.benchmarks.strategies import BEVFUSION_STRATEGIES

STRATEGIES = ['full', 'probe', 'lora', 'progressive', 'layer_decay']


class _FakeTools:
    """Stands in for tools/train.py and tools/test.py: records their commands and writes what the
    harness reads back (last_checkpoint, compute.json, trainable_params.json, metrics.json)."""

    def __init__(self) -> None:
        self.train, self.test = {}, {}

    def __call__(self, cmd, log_file, threads=None) -> None:
        work_dir = log_file.parent
        work_dir.mkdir(parents=True, exist_ok=True)
        if cmd[0] == 'tools/train.py':
            self.train[work_dir] = cmd
            (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
            (work_dir / 'compute.json').write_text(json.dumps(dict(iters_per_sec_mean=2.0, peak_mem_mb=10.0)))
            rows = [dict(module='total', trainable=5, total=20, share=0.25)]
            (work_dir / 'trainable_params.json').write_text(json.dumps(dict(iter=0, modules=rows)))
        elif cmd[0] == 'tools/test.py':
            self.test[work_dir] = cmd
            out = Path(cmd[cmd.index('--metrics-json') + 1])
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, 'w') as fh:
                json.dump({'NuScenes metric/pred_instances_3d_NuScenes/NDS': 0.3, 'x/mAP': 0.2}, fh)


@pytest.fixture()
def bench(tmp_path, monkeypatch):
    tools = _FakeTools()
    monkeypatch.setattr(le, 'run_logged', tools)
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['micro'], 'bevfusion', ['scratch'], [0.5], [0], tmp_path / 'out', strategies=STRATEGIES[1:]
    )
    split = tmp_path / 'split.pkl'
    monkeypatch.setattr(bench, 'split_file', lambda fraction: split)
    monkeypatch.setattr(bench, 'training_frames', lambda: 8)
    bench.tools = tools
    return bench


def _options(cmd):
    return cmd[cmd.index('--cfg-options') + 1 :]


def test_full_is_always_run_first_and_unknown_strategies_are_refused(tmp_path):
    bench = le.LabelEfficiencyBenchmark(
        PRESETS['micro'], 'bevfusion', ['scratch'], [0.5], [0], tmp_path, strategies=['probe']
    )
    assert bench.strategies == ['full', 'probe']
    default = le.LabelEfficiencyBenchmark(PRESETS['micro'], 'bevfusion', ['scratch'], [0.5], [0], tmp_path)
    assert default.strategies == ['full']
    with pytest.raises(KeyError, match='no fine-tuning strategy'):
        le.LabelEfficiencyBenchmark(
            PRESETS['micro'], 'bevfusion', ['scratch'], [0.5], [0], tmp_path, strategies=['x']
        )


def test_each_strategy_gets_its_config_on_the_same_split_and_seed(bench):
    records = {s: bench.finetune('scratch', 0.5, 0, None, strategy=s) for s in STRATEGIES}
    out = bench.out
    # full keeps the path of runs made without --strategies; the others sit beside it
    assert records['full']['work_dir'] == str(out / 'runs/bevfusion_scratch/frac0.5_seed0')
    assert records['probe']['work_dir'] == str(out / 'runs/bevfusion_scratch/probe/frac0.5_seed0')
    assert {r['strategy'] for r in records.values()} == set(STRATEGIES)
    assert all(r['trainable_share'] == 0.25 and r['iters_per_sec'] == 2.0 for r in records.values())
    cmds = {s: bench.tools.train[out / r['work_dir']] for s, r in records.items()}
    data = {s: [o for o in _options(c) if 'ann_file' in o or 'seed' in o] for s, c in cmds.items()}
    assert all(d == data['full'] for d in data.values()), 'same labels and seed for every strategy'
    cfgs = {s: Config.fromfile(c[1], import_custom_modules=False) for s, c in cmds.items()}
    assert 'finetune_strategy' not in cfgs['full'].model
    assert cfgs['probe'].model.finetune_strategy.type == 'LinearProbe'
    assert cfgs['lora'].model.finetune_strategy == dict(
        type='LoRAFinetune', rank=4, trainable=['bbox_head', 'seg_head']
    )
    assert cfgs['layer_decay'].optim_wrapper.constructor == 'LayerDecayOptimWrapperConstructor'
    assert cfgs['layer_decay'].optim_wrapper.paramwise_cfg.layer_decay_rate == 0.95
    hook = cfgs['progressive'].custom_hooks[-1]
    assert hook.type == 'ProgressiveUnfreezeHook'
    assert [g['begin'] for g in hook.groups] == [0, 1, 3]  # 0, 1/3, 2/3 of micro's 4 iterations
    assert [h['type'] for h in cfgs['progressive'].custom_hooks[:-1]] == [
        h['type'] for h in cfgs['full'].custom_hooks
    ]
    for s in STRATEGIES:  # every strategy: the benchmark's schedule, the same for all
        assert cfgs[s].train_cfg.max_iters == 4 and cfgs[s].param_scheduler == cfgs['full'].param_scheduler
    # LoRA is evaluated with its run config (the adapters' structure); full with the preset's
    tests = {s: bench.tools.test[out / r['work_dir']] for s, r in records.items()}
    assert tests['full'][1] == bench.entry.finetune_config
    assert tests['lora'][1] == cmds['lora'][1]


def test_runs_without_a_strategy_key_resume_as_full(bench):
    legacy = bench._result_file('scratch', 0.5, 0)
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps(dict(method='scratch', fraction=0.5, seed=0, NDS=1.0, mAP=2.0)))
    record = bench.finetune('scratch', 0.5, 0, None)
    assert record['strategy'] == 'full' and record['NDS'] == 1.0
    assert not bench.tools.train, 'a finished run is not run again'


SPLIT = dict(scenes=['a', 'b'])


def _run(method, strategy, seed, nds, **extra):
    row = dict(method=method, fraction=0.1, seed=seed, NDS=nds, mAP=nds / 2, split=SPLIT, **extra)
    if strategy is not None:
        row['strategy'] = strategy
    return row


# full (no strategy key: a run made before strategies) vs probe: differences -1, -3, -2
RUNS = [
    *(_run('nsmae', None, s, v) for s, v in enumerate((20.0, 22.0, 21.0))),
    *(_run('nsmae', 'probe', s, v, trainable_share=0.2) for s, v in enumerate((19.0, 19.0, 19.0))),
    *(_run('scratch', 'full', s, v) for s, v in enumerate((10.0, 12.0, 11.0))),
]


def test_paired_vs_full_by_hand():
    d = paired_vs_full(RUNS)[('nsmae', 'probe', 0.1)]['NDS']
    assert d['seeds'] == [0, 1, 2] and d['differences'] == [-1.0, -3.0, -2.0]
    assert d['mean'] == pytest.approx(-2.0) and d['std'] == pytest.approx(1.0)
    assert d['half_width'] == pytest.approx(4.302652729911275 / 3**0.5)  # t(0.975, 2) * sd / sqrt(3)
    assert set(paired_vs_full(RUNS)) == {('nsmae', 'probe', 0.1)}  # scratch has no other strategy
    # the method comparison pairs full runs only: nsmae - scratch = 10, 10, 10
    vs_scratch = paired_differences([r for r in RUNS if r.get('strategy', 'full') == 'full'])
    assert vs_scratch[('nsmae', 0.1)]['NDS']['differences'] == [10.0, 10.0, 10.0]


def test_reports_hold_the_strategy_comparison(tmp_path):
    write_reports(tmp_path, RUNS, PRESETS['micro'], 'bevfusion', dict(git_commit='abc'))
    payload = json.loads((tmp_path / 'results.json').read_text())
    assert len(payload['runs']) == 9
    assert {(r['method'], r['n']) for r in payload['summary']} == {('nsmae', 3), ('scratch', 3)}
    assert payload['paired_vs_scratch'][0]['NDS']['mean'] == pytest.approx(10.0)
    (row,) = payload['paired_vs_full']
    assert (row['method'], row['strategy'], row['NDS']['mean']) == ('nsmae', 'probe', pytest.approx(-2.0))
    text = (tmp_path / 'results.md').read_text()
    assert '| nsmae | probe | 0.1 | 3 | 19.00 +- 0.00 |' in text and '| 20.0% |' in text
    assert '-2.00 +- 1.00 [-4.48, +0.48]' in text


def test_reports_without_strategies_keep_their_layout(tmp_path):
    full = [r for r in RUNS if r.get('strategy', 'full') == 'full']
    write_reports(tmp_path, full, PRESETS['micro'], 'bevfusion', dict(git_commit='abc'))
    payload = json.loads((tmp_path / 'results.json').read_text())
    assert 'paired_vs_full' not in payload and 'summary_by_strategy' not in payload
    assert strategy_table(full) == ''
    assert 'Fine-tuning strategies' not in (tmp_path / 'results.md').read_text()


def test_bevfusion_strategies_cover_every_parameter():
    from mmssl.models.finetune import in_modules
    from mmssl.testing.synthetic_batch import build_from_config

    model, _ = build_from_config(PRESETS['cpu'].models['bevfusion'].finetune_config)
    names = [n for n, _ in model.named_parameters()]
    groups = [g['modules'] for g in BEVFUSION_STRATEGIES['progressive'].unfreeze]
    layers = BEVFUSION_STRATEGIES['layer_decay'].optim_wrapper['paramwise_cfg']['layers']
    for plan in (groups, layers):
        assert all(sum(in_modules(n, modules) for modules in plan) == 1 for n in names)


def test_encoder_lr_strategy_scales_only_the_encoders():
    from mmengine.optim import build_optim_wrapper

    from mmssl.testing.synthetic_batch import build_from_config

    entry = PRESETS['cpu'].models['bevfusion']
    model, cfg = build_from_config(entry.finetune_config)
    overrides = BEVFUSION_STRATEGIES['encoder_lr'].overrides({}, 300, [])
    cfg.merge_from_dict(dict(optim_wrapper=overrides['optim_wrapper']))
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    lr_of = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    encoders = tuple(cfg.model.init_from.prefix_map)  # what a pre-training checkpoint initialises
    seen = set()
    for name, param in model.named_parameters():
        want = 0.1 * base if name.startswith(encoders) else base
        assert lr_of[id(param)] == pytest.approx(want), name
        seen.add(name.split('.')[0])
    assert {'img_backbone', 'pts_middle_encoder', 'bbox_head'} <= seen


def test_frozen_encoders_trains_exactly_what_pre_training_does_not_initialise():
    from mmssl.testing.synthetic_batch import build_from_config

    entry = PRESETS['cpu'].models['bevfusion']
    model, cfg = build_from_config(entry.finetune_config)
    model.init_finetune_strategy(BEVFUSION_STRATEGIES['frozen_encoders'].model['finetune_strategy'])
    encoders = tuple(cfg.model.init_from.prefix_map)
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(encoders)), name
    model.train()
    frozen_bn = [
        m for n, m in model.named_modules() if n.startswith(encoders) and isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert frozen_bn and not any(m.training for m in frozen_bn)
