"""CollapseMonitorHook: effective rank of known spectra, the warning, and what it logs."""

import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from mmssl.engine.hooks import CollapseMonitorHook, occupied_cell_embeddings
from mmssl.registry import HOOKS


def _rank3(n=4000, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(dim, 3, generator=g))  # 3 orthonormal directions
    return torch.randn(n, 3, generator=g) @ basis.T


def test_rank_three_set_has_effective_rank_three():
    hook = HOOKS.build(dict(type='CollapseMonitorHook', min_effective_rank=2.0))
    stats = hook.measure(_rank3())
    assert stats['effective_rank'] == pytest.approx(3.0, abs=0.1)
    assert stats['auc'] == pytest.approx((1 / 3 + 2 / 3 + 14) / 16, abs=0.02)  # mean of the curve
    assert stats['samples'] == 4000 and stats['std_min'] < stats['std_mean']
    assert len(stats['explained_ratio']) == 16 and sum(stats['explained_ratio'][:3]) == pytest.approx(1.0)
    assert not hook.check(stats, 10)
    iso = hook.measure(torch.randn(4000, 16, generator=torch.Generator().manual_seed(1)))
    assert iso['effective_rank'] > 15.0


def test_collapsed_set_warns(caplog):
    hook = CollapseMonitorHook(min_effective_rank=2.0, max_samples=500)
    g = torch.Generator().manual_seed(0)
    collapsed = torch.ones(2000, 16) + 1e-4 * torch.randn(2000, 1, generator=g) * torch.arange(16.0)
    stats = hook.measure(collapsed)
    assert stats['samples'] == 500 and stats['effective_rank'] < 1.1
    logger = logging.getLogger('test_collapse_monitor')
    with caplog.at_level(logging.WARNING, logger='test_collapse_monitor'):
        assert hook.check(stats, 7, logger)
    assert 'effective rank' in caplog.text and 'iteration 7' in caplog.text
    assert hook.history[-1]['iter'] == 7
    assert hook.measure(torch.ones(10, 4))['effective_rank'] == 0.0  # no variance at all


class _BEVModel(nn.Module):
    """``mode='tensor'`` returns a BEV map with a rank-3 embedding in the occupied cells."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(2)
        self.data_preprocessor = lambda batch, training: batch

    def forward(self, inputs, data_samples=None, mode='tensor'):
        assert mode == 'tensor' and not self.training and not torch.is_grad_enabled()
        bev = torch.zeros(2, 16, 30, 40)
        occ = _rank3(n=2 * 30 * 20).T.reshape(16, 2, 30, 20).transpose(0, 1)
        bev[..., :20] = occ  # half the cells occupied
        return bev


def test_hook_logs_spectrum_every_interval_without_side_effects():
    model = _BEVModel().train()
    hub = MessageHub.get_instance('test_collapse_monitor_hook')
    hook = CollapseMonitorHook(interval=5)
    runner = SimpleNamespace(model=model, iter=3, message_hub=hub, logger=logging.getLogger('x'))
    state = torch.get_rng_state()
    hook.after_train_iter(runner, 0, data_batch=dict(inputs={}, data_samples=[]))
    assert 'train/collapse_effective_rank' not in hub.log_scalars  # iteration 4: not a multiple of 5
    runner.iter = 4
    hook.after_train_iter(runner, 0, data_batch=dict(inputs={}, data_samples=[]))
    keys = [k for k in hub.log_scalars if k.startswith('train/collapse_')]
    assert sorted(keys) == sorted(
        f'train/collapse_{k}' for k in ('effective_rank', 'auc', 'std_mean', 'std_min')
    )
    assert not any('loss' in k for k in keys)  # logged, never optimised
    assert hub.get_scalar('train/collapse_effective_rank').current() == pytest.approx(3.0, abs=0.15)
    assert model.training and torch.equal(torch.get_rng_state(), state)
    assert hook.history[-1]['iter'] == 5


def test_occupied_cells_are_the_non_zero_vectors():
    feats = torch.zeros(1, 3, 2, 2)
    feats[0, :, 0, 1] = torch.tensor([1.0, 0.0, -1.0])
    assert torch.equal(occupied_cell_embeddings(feats), torch.tensor([[1.0, 0.0, -1.0]]))
