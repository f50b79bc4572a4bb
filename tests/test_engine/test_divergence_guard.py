"""NaN injection: the divergence guard stops (or skips) non-finite steps and never saves NaN weights."""

from __future__ import annotations

import math

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmssl.engine.hooks import DivergenceError
from mmssl.testing.runs import in_process_cfg, latest_checkpoint, run_tool

TOY = 'tests/data/configs/toy_regression.py'


def _runner(work_dir, max_iters=8, poison=None, max_skips=0, **cfg_updates):
    cfg = Config.fromfile(TOY)
    cfg.work_dir = str(work_dir)
    cfg.model.aux_weight = 0.01
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.divergence_guard.max_skips = max_skips
    cfg.custom_hooks = [dict(type='PoisonHook', **(poison or {}))]
    cfg.merge_from_dict(cfg_updates)
    return Runner.from_cfg(in_process_cfg(cfg))


def _all_finite(ckpt):
    return all(bool(torch.isfinite(v).all()) for v in ckpt['state_dict'].values())


def test_nan_loss_stops_naming_iteration_and_term(tmp_path):
    runner = _runner(tmp_path, poison=dict(loss_iters=[5]))
    with pytest.raises(DivergenceError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 5:' in msg and 'loss_mse=nan' in msg and 'loss_aux' not in msg
    assert str(tmp_path / 'iter_4.pth') in msg  # the last good checkpoint, named
    assert latest_checkpoint(tmp_path).name == 'iter_4.pth'
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_2.pth', 'iter_4.pth']
    ckpt = torch.load(tmp_path / 'iter_4.pth', map_location='cpu')
    assert _all_finite(ckpt)
    # The step of iteration 5 was not applied: the weights are still those of iteration 4.
    model = runner.model
    for k, v in ckpt['state_dict'].items():
        torch.testing.assert_close(model.state_dict()[k], v, rtol=0, atol=0)


def test_nan_gradient_with_finite_loss_is_caught(tmp_path):
    runner = _runner(tmp_path, poison=dict(grad_iters=[3]))
    with pytest.raises(
        DivergenceError, match=r'iteration 3: gradient norm=nan \(non-finite gradients in net\.'
    ):
        runner.train()
    assert latest_checkpoint(tmp_path).name == 'iter_2.pth'


def test_max_skips_skips_bounded_number_of_bad_steps(tmp_path):
    runner = _runner(tmp_path, poison=dict(loss_iters=[3, 5]), max_skips=2)
    runner.train()  # two bad steps, both allowed
    assert runner.message_hub.get_info('divergence_guard_skips') == 2
    final = torch.load(latest_checkpoint(tmp_path), map_location='cpu')
    assert final['meta']['iter'] == 8 and _all_finite(final)
    runner = _runner(tmp_path / 'b', poison=dict(loss_iters=[3, 5, 7]), max_skips=2)
    with pytest.raises(DivergenceError, match='iteration 7:'):
        runner.train()


def test_guard_refuses_non_finite_checkpoint(tmp_path):
    runner = _runner(tmp_path, max_iters=2)
    runner.train()
    with torch.no_grad():
        next(runner.model.parameters()).fill_(math.inf)
    with pytest.raises(DivergenceError, match='refusing to save a checkpoint'):
        runner.save_checkpoint(str(tmp_path), 'bad.pth')
    assert not (tmp_path / 'bad.pth').exists()


def test_diverging_run_stops_and_last_good_checkpoint_resumes(tmp_path):
    """A real divergence (SGD at lr 10 on the toy regression), through tools/train.py."""
    opts = [
        'optim_wrapper.optimizer.type=SGD',
        'optim_wrapper.optimizer.lr=10.0',
        'train_cfg.max_iters=40',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=1',
    ]
    proc = run_tool(['tools/train.py', TOY, '--work-dir', str(tmp_path), '--cfg-options', *opts], check=False)
    assert proc.returncode != 0
    assert 'DivergenceError: DivergenceGuardHook: iteration ' in proc.stderr
    assert 'non-finite loss terms: loss_mse=' in proc.stderr
    ckpt = latest_checkpoint(tmp_path)
    assert ckpt.exists() and _all_finite(torch.load(ckpt, map_location='cpu'))
    bad_iter = torch.load(ckpt, map_location='cpu')['meta']['iter'] + 1
    assert f'iteration {bad_iter}:' in proc.stderr
    # The last good checkpoint resumes: the resumed run (same settings; the saved optimizer state
    # keeps lr 10) continues exactly and meets the same divergence at the same iteration.
    again = run_tool(
        ['tools/train.py', TOY, '--work-dir', str(tmp_path), '--resume', '--cfg-options', *opts], check=False
    )
    assert again.returncode != 0
    assert f'Advance dataloader {bad_iter - 1} steps' in again.stdout + again.stderr
    assert f'DivergenceGuardHook: iteration {bad_iter}:' in again.stderr
    assert latest_checkpoint(tmp_path) == ckpt and ckpt.exists()


def test_skip_count_survives_resume(tmp_path):
    """One skip allowed: used at iteration 3 before the checkpoint of 4; after --resume the bad
    step of iteration 7 is the second, so the run stops."""
    _runner(tmp_path, max_iters=4, poison=dict(loss_iters=[3, 7]), max_skips=1).train()
    resumed = _runner(tmp_path, max_iters=8, poison=dict(loss_iters=[3, 7]), max_skips=1, resume=True)
    with pytest.raises(DivergenceError, match='iteration 7:'):
        resumed.train()
    assert latest_checkpoint(tmp_path).name == 'iter_6.pth'
