"""MaskedLpLoss: known values, masking and weights."""

import pytest
import torch

from mmssl.registry import MODELS


def test_l2_and_l1_values_with_mask_and_weight():
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    target = torch.tensor([0.0, 2.0, 5.0, 0.0])
    valid = torch.tensor([True, True, True, False])
    l2 = MODELS.build(dict(type='MaskedLpLoss', p=2, loss_weight=1e4))
    l1 = MODELS.build(dict(type='MaskedLpLoss', p=1, loss_weight=1e-2))
    assert l2.unweighted(pred, target, valid).item() == pytest.approx((1 + 0 + 4) / 3)
    assert l2(pred, target, valid).item() == pytest.approx(1e4 * 5 / 3)
    assert l1(pred, target).item() == pytest.approx(1e-2 * (1 + 0 + 2 + 4) / 4)
    rgb = torch.tensor([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]])
    assert l2.unweighted(rgb, torch.zeros(2, 3)).item() == pytest.approx((0.75 + 1.0) / 6)
    assert l2.unweighted(rgb, torch.zeros(2, 3), torch.tensor([True, False])).item() == pytest.approx(0.25)


def test_no_valid_target_gives_zero_with_graph():
    pred = torch.ones(3, requires_grad=True)
    loss = MODELS.build(dict(type='MaskedLpLoss', p=1))(
        pred, torch.zeros(3), torch.zeros(3, dtype=torch.bool)
    )
    loss.backward()
    assert loss.item() == 0 and torch.equal(pred.grad, torch.zeros(3))


def test_bad_arguments():
    with pytest.raises(ValueError, match='p must be'):
        MODELS.build(dict(type='MaskedLpLoss', p=3))
    with pytest.raises(ValueError, match='differ'):
        MODELS.build(dict(type='MaskedLpLoss'))(torch.zeros(2), torch.zeros(3))
