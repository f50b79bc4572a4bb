"""Relative weight change after pre-training, and the hook that saves the start weights."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from mmssl.benchmarks.weight_change import START_WEIGHTS, StartWeightsHook, relative_weight_change


def test_relative_weight_change_by_hand():
    start = {
        'enc.conv.weight': torch.tensor([1.0, 1.0, 1.0, 1.0]),  # ||w0|| = 2
        'enc.bn.weight': torch.tensor([0.0, 0.0]),
        'enc.bn.running_mean': torch.tensor([5.0, 5.0]),  # statistics, not weights
        'enc.bn.num_batches_tracked': torch.tensor(3),
        'head.weight': torch.tensor([3.0, 4.0]),
    }
    end = dict(start)
    end['enc.conv.weight'] = torch.tensor([2.0, 1.0, 1.0, 0.0])  # change (1, 0, 0, -1)
    end['enc.bn.running_mean'] = torch.tensor([50.0, -50.0])
    end['head.weight'] = torch.tensor([3.0, 4.0])
    out = relative_weight_change(start, end, ['enc.', 'head.', 'absent.'])
    assert set(out) == {'enc.', 'head.'}
    assert out['enc.']['relative_change'] == pytest.approx(math.sqrt(2) / 2)
    assert out['enc.']['norm_start'] == pytest.approx(2.0) and out['enc.']['params'] == 6
    assert out['enc.']['tensors'] == 2 and out['head.']['relative_change'] == 0.0
    with pytest.raises(KeyError, match='enc.conv.weight'):
        relative_weight_change(start, {'enc.bn.weight': torch.zeros(2)}, ['enc.'])


def test_start_weights_hook_saves_once_before_training(tmp_path):
    model = nn.Linear(3, 2)
    runner = SimpleNamespace(work_dir=str(tmp_path), iter=0, model=model)
    hook = StartWeightsHook()
    hook.before_train(runner)
    saved = torch.load(tmp_path / START_WEIGHTS, weights_only=True)
    assert torch.equal(saved['weight'], model.weight.detach())
    with torch.no_grad():
        model.weight.add_(1.0)
    hook.before_train(runner)  # the file exists: the start weights are kept
    assert torch.equal(torch.load(tmp_path / START_WEIGHTS, weights_only=True)['weight'], saved['weight'])
    (tmp_path / START_WEIGHTS).unlink()
    hook.before_train(SimpleNamespace(work_dir=str(tmp_path), iter=5, model=model))  # a resumed run
    assert not (tmp_path / START_WEIGHTS).exists()
