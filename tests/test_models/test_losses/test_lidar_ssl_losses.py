"""LiDAR pre-training losses against hand-computed values: AD-L-JEPA (eqs. 1-3), Occupancy-MAE, BEV-MAE."""

import math

import pytest
import torch

from mmssl.registry import MODELS


def _maps(*cells):
    """``(1, D, 1, N)`` from N cell vectors."""
    return torch.tensor(cells, dtype=torch.float32).T[None, :, None, :]


def test_cosine_loss_hand_computed():
    loss = MODELS.build(dict(type='MaskedCosineLoss'))
    assert (loss.alpha_empty, loss.alpha_nonempty, loss.loss_weight) == (0.25, 0.75, 1.0)
    pred = _maps([1.0, 0.0], [2.0, 0.0], [1.0, 0.0], [5.0, 5.0])
    target = _maps([3.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0])  # distances 0, 1, 2, 0
    empty = torch.tensor([[[True, True, False, False]]])
    nonempty = torch.tensor([[[False, False, True, False]]])  # the 4th cell is not masked: ignored
    assert loss.terms(pred, target, empty, nonempty)[0].item() == pytest.approx(0.5)
    assert loss(pred, target, empty, nonempty).item() == pytest.approx(0.25 * 0.5 + 0.75 * 2.0)
    weighted = MODELS.build(dict(type='MaskedCosineLoss', loss_weight=2.0))
    assert weighted(pred, target, empty, nonempty).item() == pytest.approx(2 * 1.625)


def test_cosine_loss_means_over_the_cells_of_the_whole_batch():
    """Eq. 1 divides by sum_n |P_n|: a sample with more masked cells weighs more."""
    loss = MODELS.build(dict(type='MaskedCosineLoss', alpha_empty=1.0, alpha_nonempty=0.0))
    pred = torch.cat([_maps([1.0, 0.0], [1.0, 0.0]), _maps([1.0, 0.0], [1.0, 0.0])])
    target = torch.cat([_maps([1.0, 0.0], [0.0, 1.0]), _maps([0.0, 1.0], [0.0, 1.0])])  # 0, 1 | 1, 1
    empty = torch.tensor([[[True, True]], [[True, False]]])
    assert loss(pred, target, empty, torch.zeros_like(empty)).item() == pytest.approx(2 / 3)
    # no masked cell: a zero that keeps the graph
    pred.requires_grad_(True)
    zero = loss(pred, target, torch.zeros_like(empty), torch.zeros_like(empty))
    assert zero.item() == 0 and zero.requires_grad


def test_variance_regulariser_hand_computed():
    reg = MODELS.build(dict(type='PerSampleVarianceLoss'))
    emb = _maps([0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [9.0, 9.0])
    mask = torch.tensor([[[True, True, True, False]]])
    gamma = 1 / math.sqrt(2)  # 1 / sqrt(D)
    # dim 0: values 0, 1, 2 (unbiased variance 1); dim 1: constant
    expected = (max(0.0, gamma - math.sqrt(1 + 1e-4)) + (gamma - math.sqrt(1e-4))) / 2
    assert reg(emb, mask).item() == pytest.approx(expected, rel=1e-5)
    fixed = MODELS.build(dict(type='PerSampleVarianceLoss', gamma=2.0, loss_weight=10.0))
    expected = 10 * ((2.0 - math.sqrt(1 + 1e-4)) + (2.0 - math.sqrt(1e-4))) / 2
    assert fixed(emb, mask).item() == pytest.approx(expected, rel=1e-5)


def test_variance_regulariser_is_per_sample():
    """Two constant but different samples: over the batch the variance passes the threshold,
    per sample (the paper's choice) every dimension is penalised."""
    reg = MODELS.build(dict(type='PerSampleVarianceLoss'))
    emb = torch.cat([_maps(*[[3.0, 0.0]] * 4), _maps(*[[0.0, 3.0]] * 4)])
    mask = torch.ones(2, 1, 4, dtype=torch.bool)
    gamma = 1 / math.sqrt(2)
    assert reg(emb, mask).item() == pytest.approx(gamma - math.sqrt(1e-4), rel=1e-5)
    pooled = emb.permute(1, 0, 2, 3).reshape(1, 2, 1, 8)  # both samples as one
    assert reg(pooled, torch.ones(1, 1, 8, dtype=torch.bool)).item() == pytest.approx(0.0, abs=1e-6)
    values, valid = reg.per_sample(emb, mask)
    assert valid.tolist() == [True, True] and torch.allclose(values, values[0].expand(2))
    total = MODELS.build(dict(type='PerSampleVarianceLoss', sample_reduction='sum'))
    assert total(emb, mask).item() == pytest.approx(2 * (gamma - math.sqrt(1e-4)), rel=1e-5)
    # a sample with one selected cell has no variance: left out of the mean
    one = mask.clone()
    one[1, 0, 1:] = False
    assert reg.per_sample(emb, one)[1].tolist() == [True, False]
    assert reg(emb, one).item() == pytest.approx(gamma - math.sqrt(1e-4), rel=1e-5)


def test_occupancy_bce_and_chamfer_hand_computed():
    bce = MODELS.build(dict(type='OccupancyBCELoss'))
    logits = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    target = torch.tensor([[True, False], [False, True]])
    manual = (
        -(
            math.log(0.5)
            + math.log(1 - 1 / (1 + math.exp(-2)))
            + math.log(1 - 1 / (1 + math.exp(1)))
            + math.log(1 / (1 + math.exp(-0.5)))
        )
        / 4
    )
    assert bce(logits, target).item() == pytest.approx(manual, rel=1e-5)
    weighted = MODELS.build(dict(type='OccupancyBCELoss', pos_weight=3.0))
    assert weighted(logits, target).item() > bce(logits, target).item()
    chamfer = MODELS.build(dict(type='ChamferLoss'))
    pred = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]])  # (1, K=2, 3)
    gt = torch.tensor([[[0.0, 1.0, 0.0], [9.0, 9.0, 9.0]]])  # second point is padding
    valid = torch.tensor([[True, False]])
    # pred -> gt: (1 + 5) / 2 = 3; gt -> pred: min(1, 5) = 1
    assert chamfer(pred, gt, valid).item() == pytest.approx(4.0)
    assert chamfer.per_cell(pred, gt, torch.zeros_like(valid)).item() == 0.0
