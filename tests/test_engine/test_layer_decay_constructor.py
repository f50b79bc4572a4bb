"""LayerDecayOptimWrapperConstructor: every group's lr is base * decay ** depth."""

import logging

import pytest
import torch
from mmengine.logging import MMLogger

from mmssl.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmssl.testing.toy import ToyLayeredRegressor

BASE_LR = 2e-3


def _build(model, rate=0.9, layers=(['head'], ['block'], ['stem']), **optimizer):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='LayerDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                type='OptimWrapper', optimizer=dict(type='AdamW', lr=BASE_LR, **optimizer)
            ),
            paramwise_cfg=dict(layer_decay_rate=rate, layers=[list(x) for x in layers]),
        )
    )
    return constructor(model)


def test_lr_of_each_group_is_base_times_decay_to_the_depth():
    model = ToyLayeredRegressor()
    wrapper = _build(model, rate=0.9)
    groups = wrapper.optimizer.param_groups
    assert [g['depth'] for g in groups] == [0, 1, 2]
    assert [g['lr'] for g in groups] == pytest.approx([2e-3, 1.8e-3, 1.62e-3], rel=1e-12)
    named = {id(p): n.split('.')[0] for n, p in model.named_parameters()}
    assert [{named[id(p)] for p in g['params']} for g in groups] == [{'head'}, {'block'}, {'stem'}]


def test_ungrouped_parameters_are_deepest_and_frozen_ones_left_out():
    model = ToyLayeredRegressor()
    model.block.requires_grad_(False)
    wrapper = _build(model, rate=0.5, layers=(['head'],))
    groups = wrapper.optimizer.param_groups
    assert [g['depth'] for g in groups] == [0, 1]
    assert groups[1]['lr'] == pytest.approx(BASE_LR * 0.5)
    in_optimizer = {id(p) for g in groups for p in g['params']}
    assert not any(id(p) in in_optimizer for p in model.block.parameters())
    assert all(id(p) in in_optimizer for p in model.stem.parameters())


def test_depth_is_printed_once_at_build():
    logger = MMLogger.get_current_instance()
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    try:
        _build(ToyLayeredRegressor(), rate=0.9)
    finally:
        logger.removeHandler(handler)
    out = '\n'.join(records)
    assert out.count('layer-wise lr decay 0.9') == 1
    assert 'depth 0: lr 2.000e-03, 17 params, head' in out
    assert 'depth 2: lr 1.620e-03, 176 params, stem' in out  # linear 8 x 16 + 16, BN 2 x 16


def test_step_moves_each_depth_by_its_lr():
    """With Adam the first step moves every weight by about its group's lr: the ratio of the
    deepest to the head update is decay ** depth."""
    torch.manual_seed(0)
    model = ToyLayeredRegressor()
    wrapper = _build(model, rate=0.5, weight_decay=0.0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x, y = torch.randn(16, 8), torch.randn(16, 1)
    wrapper.update_params(model(x, y)['loss_mse'])
    step = {n: (p.detach() - before[n]).abs().max().item() for n, p in model.named_parameters()}
    assert step['head.weight'] == pytest.approx(BASE_LR, rel=1e-3)
    assert step['block.0.weight'] == pytest.approx(BASE_LR * 0.5, rel=1e-3)
    assert step['stem.0.weight'] == pytest.approx(BASE_LR * 0.25, rel=1e-3)


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match='layers'):
        _build(ToyLayeredRegressor(), layers=())
    with pytest.raises(ValueError, match='layer_decay_rate'):
        _build(ToyLayeredRegressor(), rate=1.5)
