"""The label-efficiency harness end to end with the micro preset: files, schema, resume, plot."""

import dataclasses
import json
import os
import time

import pytest

from mmssl.benchmarks import PRESETS
from mmssl.benchmarks.label_efficiency import LabelEfficiencyBenchmark, run_logged
from mmssl.testing.runs import run_tool

RUN_KEYS = {
    'model',
    'method',
    'fraction',
    'seed',
    'NDS',
    'mAP',
    'per_class_AP',
    'wall_s',
    'device_hours',
    'peak_mem_mb',
    'finetune_config',
    'run_config',
    'finetune_iters',
    'pretrain_config',
    'pretrain_checkpoint',
    'checkpoint',
    'split_file',
    'split',
    'work_dir',
}


def test_micro_preset_end_to_end_and_resume(synthetic_world, tmp_path):
    args = [
        'tools/benchmark_label_efficiency.py',
        '--preset',
        'micro',
        '--model',
        'bevfusion',
        '--methods',
        'scratch,nsmae',
        '--fractions',
        '0.5',
        '--seeds',
        '0',
        '--data-root',
        str(synthetic_world['root']),
        '--out',
        str(tmp_path),
        '--jobs',
        '2',  # the scratch fine-tune runs while NS-MAE pre-trains
    ]
    run_tool(args, timeout=900)
    payload = json.loads((tmp_path / 'results.json').read_text())
    assert payload['preset'] == 'micro' and len(payload['runs']) == 2
    assert payload['pretrain_iters'] == 4 and payload['finetune_iters'] == 4
    for run in payload['runs']:
        assert RUN_KEYS <= set(run), RUN_KEYS - set(run)
        assert 0 <= run['NDS'] <= 100 and 0 <= run['mAP'] <= 100
        assert run['device_hours'] > 0 and run['peak_mem_mb'] > 100
        assert (tmp_path / 'runs' / f'bevfusion_{run["method"]}' / 'frac0.5_seed0' / 'result.json').exists()
    nsmae = next(r for r in payload['runs'] if r['method'] == 'nsmae')
    assert nsmae['pretrain_checkpoint'].endswith('iter_4.pth')
    assert payload['environment']['versions']['mmdet3d'] == '1.4.0'
    assert payload['environment']['jobs'] == 2 and payload['environment']['threads_per_job'] >= 1
    assert {s['method'] for s in payload['summary']} == {'scratch', 'nsmae'}
    assert all(run['finetune_iters'] == 4 for run in payload['runs'])
    (paired,) = payload['paired_vs_scratch']
    assert paired['method'] == 'nsmae' and paired['NDS']['n'] == 1 and paired['NDS']['ci_low'] is None
    assert paired['NDS']['mean'] == pytest.approx(
        nsmae['NDS'] - next(r for r in payload['runs'] if r['method'] == 'scratch')['NDS']
    )
    change = payload['pretraining']['nsmae']['weight_change']
    assert set(change) >= {'img_backbone.', 'pts_middle_encoder.'}
    assert all(
        0 < c['relative_change'] < 1 for c in change.values()
    )  # 4 steps at lr <= 1e-3 moved them a little
    assert (tmp_path / 'pretrain' / 'bevfusion_nsmae' / 'weights_at_start.pth').exists()
    probes = payload['probes']
    assert set(probes) == {'scratch', 'nsmae'}
    for probe in probes.values():
        assert probe['modules'] == ['view_transform', 'pts_middle_encoder'] and probe['grid'] == [
            128,
            64,
        ]  # 0.8 m cells
        assert (
            0 <= probe['probe']['balanced_accuracy'] <= 100
            and probe['spectrum']['all']['effective_rank'] >= 1
        )
    assert (
        probes['nsmae']['checkpoint'] == nsmae['pretrain_checkpoint']
        and probes['scratch']['checkpoint'] is None
    )
    assert (tmp_path / 'probe' / 'bevfusion_nsmae' / 'spectrum.png').read_bytes()[:4] == b'\x89PNG'
    md = (tmp_path / 'results.md').read_text()
    assert '| nsmae | 0.5 | 1 |' in md
    assert '## How far pre-training moved the encoders' in md and '## Feature probe' in md
    assert (tmp_path / 'label_efficiency.png').read_bytes()[:4] == b'\x89PNG'
    logs = list((tmp_path / 'runs').glob('*/*/benchmark.log'))
    assert len(logs) == 2 and all(log.stat().st_size > 0 for log in logs)
    assert list((tmp_path / 'runs').glob('*/*/*.py')), 'each run keeps its config'
    assert {p.name for p in (tmp_path / 'configs').glob('*.py')} == {
        'finetune_bevfusion.py',
        'pretrain_bevfusion_nsmae.py',
    }

    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob('runs/*/*/result.json')}
    out = run_tool(args, timeout=900).stdout
    assert out.count('done before, skipped') == 5  # pre-training, 2 probes, 2 fine-tunes
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob('runs/*/*/result.json')} == stamps


def _bench(out, **overrides):
    preset = dataclasses.replace(PRESETS['micro'], **overrides)
    return LabelEfficiencyBenchmark(preset, 'bevfusion', ['scratch'], [0.5], [0], out)


def test_resume_refuses_runs_of_another_protocol(tmp_path):
    """Finished markers are reused only under the same model, data and iteration counts."""
    _bench(tmp_path).check_protocol()
    protocol = json.loads((tmp_path / 'protocol.json').read_text())
    assert protocol['preset'] == 'micro' and protocol['finetune_iters'] == 4
    _bench(tmp_path).check_protocol()  # the same protocol resumes
    with pytest.raises(ValueError, match=r'finetune_iters: 4 there, 50 now'):
        _bench(tmp_path, finetune_iters=50).check_protocol()
    with pytest.raises(ValueError, match='pretrain_iters'):
        _bench(tmp_path, pretrain_iters=7).check_protocol()


def test_iteration_overrides_on_the_command_line(tmp_path):
    proc = run_tool(
        [
            'tools/benchmark_label_efficiency.py',
            '--preset',
            'micro',
            '--finetune-iters',
            '0',
            '--out',
            str(tmp_path),
        ],
        check=False,
    )
    assert proc.returncode != 0 and 'iteration counts must be positive' in proc.stderr


class _Steps:
    """Stand-ins for the harness's steps that record when each starts and ends."""

    def __init__(self, bench):
        self.events, self.bench = [], bench

    def pretrain(self, method):
        self.events.append(('start', 'pretrain', method))
        time.sleep(0.3)
        self.events.append(('end', 'pretrain', method))
        return dict(method=method, config='c.py', checkpoint=f'{method}.pth')

    def probe(self, method, pretrained):
        self.events.append(('start', 'probe', method, pretrained and pretrained['checkpoint']))
        time.sleep(0.05)
        return dict(method=method)

    def finetune(self, method, fraction, seed, pretrained, strategy='full'):
        self.events.append(('start', 'finetune', method, seed, pretrained and pretrained['checkpoint']))
        time.sleep(0.05)
        return dict(method=method, fraction=fraction, seed=seed, NDS=1.0, mAP=2.0)


@pytest.mark.parametrize('jobs', [1, 2])
def test_parallel_steps_wait_for_their_pre_training(tmp_path, monkeypatch, jobs):
    """With ``jobs`` steps at once, scratch fine-tunes may overlap pre-training, a method's may not."""
    preset = dataclasses.replace(PRESETS['micro'], probe_fraction=0.5)
    bench = LabelEfficiencyBenchmark(
        preset, 'bevfusion', ['scratch', 'nsmae'], [0.5], [0, 1, 2], tmp_path, jobs=jobs
    )
    steps = _Steps(bench)
    monkeypatch.setattr(bench, 'pretrain', steps.pretrain)
    monkeypatch.setattr(bench, 'finetune', steps.finetune)
    monkeypatch.setattr(bench, 'probe', steps.probe)
    monkeypatch.setattr(bench, 'prepare_data', lambda: None)
    monkeypatch.setattr(bench, 'split_file', lambda fraction: tmp_path / 'split.pkl')
    reports = {}
    monkeypatch.setattr(
        'mmssl.benchmarks.label_efficiency.write_reports',
        lambda out, records, *a, **kw: reports.update(records=records, env=a[2], **kw),
    )
    records = bench.run()
    assert [(r['method'], r['seed']) for r in records] == [
        (m, s) for m in ('scratch', 'nsmae') for s in (0, 1, 2)
    ]
    ends = steps.events.index(('end', 'pretrain', 'nsmae'))
    nsmae_starts = [i for i, e in enumerate(steps.events) if e[:3] == ('start', 'finetune', 'nsmae')]
    assert len(nsmae_starts) == 3 and min(nsmae_starts) > ends
    assert all(e[4] == 'nsmae.pth' for e in steps.events if e[:3] == ('start', 'finetune', 'nsmae'))
    scratch_before = [e for e in steps.events[:ends] if e[:3] == ('start', 'finetune', 'scratch')]
    # 0.3 s of pre-training > 4 x 0.05 s: the other slot runs scratch's probe and fine-tunes meanwhile,
    # and the method's probe (which waits for the pre-training) does not hold it
    assert len(scratch_before) == (0 if jobs == 1 else 3)
    assert steps.events.index(('start', 'probe', 'nsmae', 'nsmae.pth')) > ends
    assert ('start', 'probe', 'scratch', None) in steps.events[: ends if jobs == 2 else None]
    assert set(reports['probes']) == {'scratch', 'nsmae'}
    assert reports['pretraining'] == {'nsmae': dict(method='nsmae', config='c.py', checkpoint='nsmae.pth')}
    assert reports['env']['jobs'] == jobs
    expected_threads = None if jobs == 1 else max(1, (os.cpu_count() or 1) // jobs)
    assert bench.threads == expected_threads == reports['env']['threads_per_job']


def test_run_logged_sets_the_thread_count(tmp_path):
    log = tmp_path / 'log.txt'
    run_logged(['-c', 'import os; print("threads", os.environ["OMP_NUM_THREADS"])'], log, threads=3)
    assert 'threads 3' in log.read_text()
    with pytest.raises(ValueError, match='jobs must be >= 1'):
        LabelEfficiencyBenchmark(PRESETS['micro'], 'bevfusion', ['scratch'], [0.5], [0], tmp_path, jobs=0)
