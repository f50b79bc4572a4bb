"""Eikonal and free-space terms of SDF rendering: hand-computed values."""

import torch

from mmssl.registry import MODELS


def test_eikonal_known_answer():
    loss = MODELS.build(dict(type='EikonalLoss', loss_weight=0.5))
    grads = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])  # norms 1, 2, 0
    assert torch.isclose(loss.unweighted(grads), torch.tensor((0.0 + 1.0 + 1.0) / 3))
    assert torch.isclose(loss(grads), torch.tensor(0.5 * 2.0 / 3))


def test_free_space_known_answer():
    loss = MODELS.build(dict(type='FreeSpaceLoss', margin=0.5, loss_weight=2.0))
    sdf = torch.tensor([[[0.1, 1.0, 0.4, -0.2], [0.0, 0.0, 0.0, 0.0]]])
    sample_range = torch.tensor([[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]])
    target = torch.tensor([[4.0, 10.0]])
    valid = torch.tensor([[True, False]])
    # ray 0: samples nearer than 4 - 0.5 m: the first three; violations 0.4, 0, 0.1; ray 1 has no return
    assert torch.isclose(loss.unweighted(sdf, sample_range, target, valid), torch.tensor(0.5 / 3))
    assert torch.isclose(loss(sdf, sample_range, target, valid), torch.tensor(1.0 / 3))
    none = loss.unweighted(sdf, sample_range, target, torch.zeros_like(valid))
    assert none == 0
