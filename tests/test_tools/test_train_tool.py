"""tools/train.py end to end on the CPU: single process, --amp, accumulation, config checks."""

import json
import time

import pytest
import torch

from mmssl.testing.runs import latest_checkpoint, run_tool

TOY = 'tests/data/configs/toy_regression.py'


def _scalars(work_dir):
    files = list(work_dir.glob('*/vis_data/scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    return [json.loads(line) for line in files[0].read_text().splitlines()]


def test_train_writes_checkpoint_and_compute_stats(tmp_path):
    start = time.perf_counter()
    run_tool(['tools/train.py', TOY, '--work-dir', str(tmp_path)])
    elapsed = time.perf_counter() - start
    ckpt = latest_checkpoint(tmp_path)
    assert ckpt is not None and ckpt.name == 'iter_8.pth'
    state = torch.load(ckpt, map_location='cpu')  # weights_only default under torch >= 2.6
    assert state['meta']['iter'] == 8
    rows = [r for r in _scalars(tmp_path) if 'iters_per_sec' in r]
    assert len(rows) == 8
    for row in rows:
        # MMEngine's `time` of an iteration includes its `data_time`; peak RSS of a torch process
        assert 0 <= row['data_time'] <= row['time'] and row['peak_mem_mb'] > 10
    hours = [r['device_hours'] for r in rows]
    assert all(b > a for a, b in zip(hours, hours[1:])), 'device-hours must accumulate'
    summary = json.loads((tmp_path / 'compute.json').read_text())
    assert summary['iters_this_run'] == 8 and summary['world_size'] == 1
    assert summary['device_hours_total'] == pytest.approx(hours[-1])
    # one process: device-hours are the training wall time, which the tool's own run contains
    wall = summary['wall_s_this_run']
    assert summary['device_hours_total'] * 3600 == pytest.approx(wall, abs=2e-3)
    assert 0 < wall < elapsed
    assert summary['iters_per_sec_mean'] == pytest.approx(8 / wall, rel=2e-2, abs=1e-3)
    # logged every iteration, the speed is 1 / (that iteration's share of the device-hours)
    dts = [3600 * (b - a) for a, b in zip([0.0] + hours, hours)]
    assert [r['iters_per_sec'] for r in rows] == pytest.approx([1 / dt for dt in dts], rel=1e-6)
    # compute figures are not backpropagated: only the model's loss terms carry 'loss'
    assert {k for k in rows[0] if 'loss' in k} == {'loss', 'loss_mse'}


def test_amp_and_gradient_accumulation_on_cpu(tmp_path):
    proc = run_tool(
        [
            'tools/train.py',
            TOY,
            '--work-dir',
            str(tmp_path),
            '--amp',
            '--cfg-options',
            'optim_wrapper.accumulative_counts=2',
        ]
    )
    log = proc.stdout + proc.stderr
    assert 'AutocastOptimWrapper' in (tmp_path / 'toy_regression.py').read_text()
    assert (
        'accumulative_counts = 2' in (tmp_path / 'toy_regression.py').read_text()
        or "'accumulative_counts': 2" in log
        or 'accumulative_counts=2' in log
    )
    losses = [r['loss'] for r in _scalars(tmp_path) if 'loss' in r]
    assert len(losses) == 8 and all(torch.isfinite(torch.tensor(losses)))
    before = torch.load(tmp_path / 'state_before_train_rank0.pt')
    after = torch.load(tmp_path / 'state_after_train_rank0.pt')
    # 8 iterations with 2 accumulated per step -> 4 optimizer steps.
    steps = {int(s['step']) for s in after['optimizer']['state'].values()}
    assert steps == {4}
    assert not torch.equal(before['params']['net.0.weight'], after['params']['net.0.weight'])


def test_missing_paths_reported_before_training(tmp_path):
    proc = run_tool(
        [
            'tools/train.py',
            TOY,
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            'train_dataloader.dataset.data_root=/nonexistent/nuscenes',
            'train_dataloader.dataset.ann_file=infos.pkl',
            'load_from=/nonexistent/pretrain.pth',
        ],
        check=False,
    )
    assert proc.returncode != 0
    err = proc.stderr
    assert 'ConfigPathError' in err and '2 path(s) named in the config do not exist' in err
    assert "train_dataloader.dataset.data_root: folder '/nonexistent/nuscenes'" in err
    assert "load_from: checkpoint '/nonexistent/pretrain.pth' does not exist" in err
    assert not list(tmp_path.glob('*/vis_data')), 'nothing may start before the check'
