"""LargeAD's segment losses against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from mmssl.models.losses import CrossSourceInfoNCELoss, SegmentInfoNCELoss


def test_segment_infonce_equals_the_closed_form():
    """Two 2-d points, three unit-vector segment means: each point's CE written out by hand."""
    pts = torch.tensor([[2.0, 0.0], [0.0, -3.0]])  # normalised: (1, 0), (0, -1)
    means = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    target = torch.tensor([0, 2])
    tau = 0.5
    loss = SegmentInfoNCELoss(temperature=tau, loss_weight=2.0, max_points=None)(pts, target, means)
    # point 0: sims (1, 0, 0); point 1: sims (0, -1, 1)
    ce0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2))
    ce1 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 1 + math.exp(-1 / tau)))
    assert loss.item() == pytest.approx(2.0 * (ce0 + ce1) / 2, rel=1e-6)


def test_segment_infonce_gradients_reach_points_and_means():
    pts = torch.randn(5, 4, requires_grad=True)
    means = torch.randn(3, 4, requires_grad=True)
    SegmentInfoNCELoss()(pts, torch.tensor([0, 1, 2, 1, 0]), means).backward()
    assert pts.grad.abs().sum() > 0 and means.grad.abs().sum() > 0


def test_segment_infonce_degenerate_and_bad_input():
    loss = SegmentInfoNCELoss()
    pts = torch.randn(3, 4, requires_grad=True)
    assert loss(pts, torch.zeros(3, dtype=torch.long), torch.randn(1, 4)).item() == 0.0  # no negative
    with pytest.raises(ValueError, match='target rows'):
        loss(pts, torch.tensor([0, 1, 5]), torch.randn(3, 4))
    with pytest.raises(ValueError, match='points'):
        loss(pts, torch.zeros(2, dtype=torch.long), torch.randn(3, 4))


def test_segment_infonce_subsamples_to_max_points():
    """With max_points the loss is the mean over a random subset: equal to the full loss when
    every point has the same CE (all points identical)."""
    pts = torch.tensor([[1.0, 0.0]]).repeat(100, 1)
    means = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.zeros(100, dtype=torch.long)
    full = SegmentInfoNCELoss(max_points=None)(pts, target, means)
    sub = SegmentInfoNCELoss(max_points=7)(pts, target, means)
    torch.testing.assert_close(full, sub)


def test_cross_source_infonce_keeps_only_other_source_negatives():
    """Rows 0, 1 from source 0, row 2 from source 1: row 0's negatives are {k2} only (k1 is the
    same source), row 2's are {k0, k1}; a loop over the kept logits gives the same value."""
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(3, 4, generator=gen), torch.randn(3, 4, generator=gen)
    source = torch.tensor([0, 0, 1])
    tau = 0.1
    loss = CrossSourceInfoNCELoss(temperature=tau, normalize=True)(q, k, source)
    qn, kn = torch.nn.functional.normalize(q, dim=1), torch.nn.functional.normalize(k, dim=1)
    ref = []
    for i in range(3):
        cols = [i] + [j for j in range(3) if source[j] != source[i]]
        logits = torch.stack([qn[i] @ kn[j] for j in cols]) / tau
        ref.append(-torch.log_softmax(logits, 0)[0])
    torch.testing.assert_close(loss, torch.stack(ref).mean())


def test_cross_source_infonce_is_zero_for_one_source():
    q = torch.randn(4, 3, requires_grad=True)
    loss = CrossSourceInfoNCELoss()(q, torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
    assert loss.item() == 0.0
    loss.backward()  # still connected to the graph
    assert q.grad is not None
