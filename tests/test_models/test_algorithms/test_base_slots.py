"""The base's frozen target_generator slot and EMA teacher slot, the momentum hook, the constructor."""

import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from mmssl.engine.hooks import TeacherMomentumHook
from mmssl.models.algorithms import BaseSelfSupervisor
from mmssl.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


@MODELS.register_module(force=True)
class _FrozenNet(nn.Module):
    """A target network with BatchNorm, so eval mode is observable."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.lin(x))


class _Method(BaseSelfSupervisor):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.student = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
        self.build_teacher()

    def extract_feat(self, inputs, data_samples=None):
        return self.student(inputs)

    def loss(self, inputs, data_samples):
        target = self.generate_targets(inputs)
        return {'loss_mse': ((self.extract_feat(inputs) - target) ** 2).mean()}


def _method(**kwargs):
    torch.manual_seed(0)
    return _Method(target_generator=dict(type='_FrozenNet'), **kwargs)


def test_target_generator_frozen_eval_no_grad_and_not_saved():
    model = _method()
    model.train()
    assert model.training and not model.target_generator.training
    assert not any(p.requires_grad for p in model.target_generator.parameters())
    x = torch.randn(8, 3)
    stats = model.target_generator.bn.running_mean.clone()
    out = model.generate_targets(x)
    assert not out.requires_grad
    assert torch.equal(model.target_generator.bn.running_mean, stats)  # eval: statistics untouched
    state = model.state_dict()
    assert not any(k.startswith('target_generator.') for k in state) and 'student.0.weight' in state
    # a state dict without the generator loads strictly and keeps the generator's weights
    other = _method()
    gen_w = other.target_generator.lin.weight.clone()
    other.load_state_dict(state, strict=True)
    assert torch.equal(other.student[0].weight, model.student[0].weight)
    assert torch.equal(other.target_generator.lin.weight, gen_w)


def test_constructor_leaves_frozen_parameters_out_of_the_optimizer():
    model = _method(teacher=dict(source='student', momentum=0.99))
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='TrainableOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        )
    )
    wrapper = ctor(model)
    in_opt = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    trainable = {id(p) for p in model.student.parameters()}
    assert in_opt == trainable
    assert len(list(model.parameters())) == len(trainable) + 4 + 4  # generator and teacher, 4 each


def test_ema_teacher_closed_form():
    model = _method(teacher=dict(source='student', momentum=0.9))
    assert not model.teacher.training and not any(p.requires_grad for p in model.teacher.parameters())
    model.update_teacher()  # the first update copies the student (MMEngine's step 0)
    w0 = model.student[0].weight.detach().clone()
    assert torch.equal(model.teacher.module[0].weight, w0)
    with torch.no_grad():
        model.student[0].weight.add_(1.0)
    model.update_teacher()
    torch.testing.assert_close(model.teacher.module[0].weight, 0.9 * w0 + 0.1 * (w0 + 1.0))
    model.teacher.teacher_momentum = 1.0
    with torch.no_grad():
        model.student[0].weight.add_(5.0)
    before = model.teacher.module[0].weight.clone()
    model.update_teacher()
    assert torch.equal(model.teacher.module[0].weight, before)  # m = 1 freezes the teacher
    with pytest.raises(ValueError, match='momentum'):
        model.teacher.teacher_momentum = 1.5


def test_teacher_momentum_hook_schedules_and_updates():
    linear = TeacherMomentumHook(0.996, 1.0, 'linear')
    cosine = TeacherMomentumHook(0.996, 1.0, 'cosine')
    assert linear.momentum(0) == pytest.approx(0.996) and linear.momentum(1) == pytest.approx(1.0)
    assert linear.momentum(0.25) == pytest.approx(0.996 + 0.004 * 0.25)
    assert cosine.momentum(0.5) == pytest.approx(0.998)
    assert cosine.momentum(0.25) == pytest.approx(1 - 0.004 * (math.cos(math.pi / 4) + 1) / 2)
    model = _method(teacher=dict(source='student', momentum=0.5))
    hub = MessageHub.get_instance('test_teacher_momentum_hook')
    runner = SimpleNamespace(model=model, iter=50, max_iters=100, message_hub=hub)
    model.update_teacher()
    with torch.no_grad():
        model.student[0].weight.add_(1.0)
    w_t = model.teacher.module[0].weight.clone()
    w_s = model.student[0].weight.clone()
    linear.after_train_iter(runner, 0)
    m = 0.996 + 0.004 * 0.5
    assert model.teacher.teacher_momentum == pytest.approx(m)
    torch.testing.assert_close(model.teacher.module[0].weight, m * w_t + (1 - m) * w_s)
    assert hub.get_scalar('train/teacher_momentum').current() == pytest.approx(m)
    with pytest.raises(ValueError, match='schedule'):
        TeacherMomentumHook(schedule='step')


def test_teacher_source_must_exist():
    with pytest.raises(AttributeError):
        _Method(teacher=dict(source='no_such_module'))
