"""Image-to-LiDAR distillation losses and pooling: known answers (InfoNCE, normalised L2, segment means)."""

import math

import pytest
import torch

from mmssl.models.losses import InfoNCELoss, NormalizedL2Loss
from mmssl.models.utils import segment_mean


def test_infonce_equals_the_hand_computed_value():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    k = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    # normalised: q = [[1, 0], [0, 1]], k = [[1, 0], [1/sqrt2, 1/sqrt2]]; tau = 0.5
    s = 1 / math.sqrt(2)
    logits = [[1 / 0.5, s / 0.5], [0.0, s / 0.5]]
    ref = 0.5 * sum(math.log(sum(math.exp(v) for v in row)) - row[i] for i, row in enumerate(logits))
    loss = InfoNCELoss(temperature=0.5, loss_weight=1.0)(q, k)
    assert loss.item() == pytest.approx(ref, rel=1e-6)
    # normalize=False takes the rows as given (SLidR's superpixel means)
    raw = [[3 / 0.5, 1 / 0.5], [0.0, 2 / 0.5]]
    ref_raw = 0.5 * sum(math.log(sum(math.exp(v) for v in row)) - row[i] for i, row in enumerate(raw))
    loss_raw = InfoNCELoss(temperature=0.5, loss_weight=1.0, normalize=False)(q, k)
    assert loss_raw.item() == pytest.approx(ref_raw, rel=1e-5)
    assert InfoNCELoss()(q, k).item() == pytest.approx(0.2 * InfoNCELoss(loss_weight=1.0)(q, k).item())


def test_normalized_l2_is_zero_up_to_scale_and_known_otherwise():
    loss = NormalizedL2Loss()
    s = torch.tensor([[1.0, 2.0, 2.0], [0.0, -3.0, 4.0]], requires_grad=True)
    assert loss(s, 7.0 * s.detach()).item() == pytest.approx(0.0, abs=1e-7)
    orth = torch.tensor([[2.0, -1.0, 0.0], [5.0, 0.0, 0.0]])
    assert loss(s, orth).item() == pytest.approx(math.sqrt(2), rel=1e-6)  # unit vectors at 90 deg
    assert loss(s, -s.detach()).item() == pytest.approx(2.0, rel=1e-6)
    empty = loss(s[:0], s[:0].detach())
    empty.backward()
    assert empty.item() == 0
    with pytest.raises(ValueError, match='same'):
        loss(s, s[:, :2])


def test_segment_mean_equals_a_python_loop():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(50, 3, generator=gen, requires_grad=True)
    ids = torch.randint(0, 7, (50,), generator=gen)
    ids[ids == 4] = 5  # segment 4 stays empty
    mean, count = segment_mean(feats, ids, 8)
    for s in range(8):
        rows = [feats[i] for i in range(50) if ids[i] == s]
        assert count[s].item() == len(rows)
        ref = torch.stack(rows).mean(0) if rows else torch.zeros(3)
        torch.testing.assert_close(mean[s], ref)
    mean.sum().backward()
    torch.testing.assert_close(feats.grad, (1.0 / count[ids])[:, None].expand(-1, 3))
    with pytest.raises(ValueError, match='must lie in'):
        segment_mean(feats, ids, 6)
